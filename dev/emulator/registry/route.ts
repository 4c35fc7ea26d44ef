import type { EmulatorRequest, EmulatorResponse } from '../contract.js';
import type { RegistryRuntime } from '../state.js';
import type { Access, Requirement } from './auth.js';

/** A matched registry route: what it needs (checked centrally before `handle` runs) and what it does. */
export interface RegistryRoute {
  readonly requirement: Requirement;
  handle(): EmulatorResponse | Promise<EmulatorResponse>;
}

/** Returns the matched route, or undefined when the request is not this module's. */
export type RegistryRouter = (runtime: RegistryRuntime, request: EmulatorRequest) => RegistryRoute | undefined;

export function repositoryScope(name: string, actions: readonly string[], anonymousPull = false): Requirement {
  const access: Access = { type: 'repository', name, actions };
  return { kind: 'scope', access, anonymousPull };
}

export const catalogScope: Requirement = {
  kind: 'scope',
  access: { type: 'registry', name: 'catalog', actions: ['*'] },
  anonymousPull: false,
};

/** `n`/`last` paging over a sorted list (distribution-spec and ACR metadata semantics). */
export function page<T>(
  items: readonly T[],
  key: (item: T) => string,
  query: URLSearchParams,
): { items: T[]; next: { last: string; n: number } | undefined } {
  const nRaw = query.get('n');
  const n = nRaw === null ? undefined : Number.parseInt(nRaw, 10);
  const last = query.get('last');
  let start = 0;
  if (last !== null && last !== '') {
    const index = items.findIndex((item) => key(item) === last);
    // Unknown `last`: lexical position, as distribution does for tags/catalog.
    start = index >= 0 ? index + 1 : items.findIndex((item) => key(item) > last);
    if (start < 0) start = items.length;
  }
  if (n === undefined || !Number.isFinite(n) || n <= 0) return { items: items.slice(start), next: undefined };
  const slice = items.slice(start, start + n);
  const lastItem = slice.at(-1);
  const next = start + n < items.length && lastItem !== undefined ? { last: key(lastItem), n } : undefined;
  return { items: slice, next };
}

/** `Link: </path?last=x&n=y>; rel="next"` keeping other query parameters (orderby, digest). */
export function linkHeader(path: string, query: URLSearchParams, next: { last: string; n: number }): string {
  const params = new URLSearchParams(query);
  params.delete('api-version');
  params.set('last', next.last);
  params.set('n', String(next.n));
  return `<${path}?${params.toString()}>; rel="next"`;
}
