/**
 * ASP.NET-style route templates as the Functions host accepts them: literal segments, `{name}`, optional
 * `{name?}`, constraints `{name:int}` / `{name:alpha}` / `{name:guid}`, and a final catch-all `{*name}` that takes
 * the rest of the path, slashes included. Matching is case-insensitive on literals, like the host's.
 */
export interface CompiledRoute {
  readonly template: string;
  /**
   * ASP.NET route precedence, segment by segment (lower is more specific): literal 1, constrained parameter 2,
   * parameter 3, optional 4, catch-all 5. When several routes match, the host takes the most specific.
   */
  readonly precedence: readonly number[];
  match(pathSegments: readonly string[]): Record<string, string> | undefined;
}

/** Orders compiled routes most specific first. */
export function compareRoutes(a: CompiledRoute, b: CompiledRoute): number {
  for (let index = 0; index < Math.max(a.precedence.length, b.precedence.length); index++) {
    const difference = (a.precedence[index] ?? 0) - (b.precedence[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

type Segment =
  | { kind: 'literal'; text: string }
  | { kind: 'parameter'; name: string; optional: boolean; constraint: string | undefined }
  | { kind: 'catchAll'; name: string };

const constraints: Record<string, RegExp> = {
  int: /^-?\d+$/,
  alpha: /^[a-z]+$/i,
  guid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  bool: /^(true|false)$/i,
};

export function compileRoute(template: string): CompiledRoute {
  const segments = template
    .split('/')
    .filter((segment) => segment !== '')
    .map(parseSegment);
  segments.forEach((segment, index) => {
    if (segment.kind === 'catchAll' && index !== segments.length - 1) {
      throw new Error(`route "${template}": a catch-all parameter must be the last segment`);
    }
  });
  const precedence = segments.map((segment) =>
    segment.kind === 'literal'
      ? 1
      : segment.kind === 'catchAll'
        ? 5
        : segment.optional
          ? 4
          : segment.constraint
            ? 2
            : 3,
  );
  return {
    template,
    precedence,
    match(pathSegments) {
      const values: Record<string, string> = {};
      for (let index = 0; index < segments.length; index++) {
        const segment = segments[index]!;
        const value = pathSegments[index];
        if (segment.kind === 'catchAll') {
          const rest = pathSegments.slice(index).join('/');
          if (rest !== '') values[segment.name] = rest;
          return values;
        }
        if (value === undefined) {
          return segment.kind === 'parameter' && segment.optional && index === segments.length - 1 ? values : undefined;
        }
        if (segment.kind === 'literal') {
          if (segment.text.toLowerCase() !== value.toLowerCase()) return undefined;
          continue;
        }
        const constraint = segment.constraint === undefined ? undefined : constraints[segment.constraint];
        if (constraint && !constraint.test(value)) return undefined;
        values[segment.name] = value;
      }
      return pathSegments.length === segments.length ? values : undefined;
    },
  };
}

function parseSegment(raw: string): Segment {
  const parameter = /^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}$/.exec(raw);
  if (!parameter) {
    if (raw.includes('{') || raw.includes('}')) throw new Error(`route segment "${raw}" is not supported`);
    return { kind: 'literal', text: raw };
  }
  const [, star, name, constraint, optional] = parameter;
  if (constraint !== undefined && !(constraint in constraints))
    throw new Error(`route constraint "${constraint}" is not supported`);
  return star
    ? { kind: 'catchAll', name: name! }
    : { kind: 'parameter', name: name!, optional: optional === '?', constraint };
}
