/**
 * Reading Bicep as text, without a compiler (none can be installed here): just enough structure — comments,
 * strings, brackets — to find the keys of an object literal, the items of an array variable, resource API
 * versions and role definition IDs reliably. Used by parity.test.ts; each checker returns the problems it
 * found as sentences naming the offending setting, ID or version, so a failing test says what to fix.
 */

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every `.bicep` file under `directory` (node_modules and dot-folders skipped), as relative paths. */
export function bicepFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    if (name === 'node_modules' || name.startsWith('.')) return [];
    const path = join(directory, name);
    return statSync(path).isDirectory() ? bicepFiles(path) : path.endsWith('.bicep') ? [path] : [];
  });
}

/** Replaces comments with spaces (keeping offsets and line breaks) and leaves strings intact. */
export function stripComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("'''", i)) {
      const end = text.indexOf("'''", i + 3);
      const stop = end === -1 ? text.length : end + 3;
      out += text.slice(i, stop);
      i = stop;
    } else if (text[i] === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== "'" && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return out;
}

/** Index just past the bracket that closes the one at `open` (strings skipped); text must be comment-free. */
export function matchingBracket(text: string, open: number): number {
  const pairs: Record<string, string> = { '{': '}', '[': ']', '(': ')' };
  const stack: string[] = [];
  let i = open;
  while (i < text.length) {
    const c = text[i]!;
    if (text.startsWith("'''", i)) {
      const end = text.indexOf("'''", i + 3);
      i = end === -1 ? text.length : end + 3;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== "'") j += text[j] === '\\' ? 2 : 1;
      i = j + 1;
      continue;
    }
    if (c in pairs) stack.push(pairs[c]!);
    else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return i + 1;
    }
    i += 1;
  }
  throw new Error(`unbalanced bracket at offset ${open}`);
}

/** Keys at the top level of the object literal whose `{` is at `open` (identifiers or 'quoted'). */
export function objectKeys(text: string, open: number): string[] {
  const body = text.slice(open + 1, matchingBracket(text, open) - 1);
  const keys: string[] = [];
  let depth = 0;
  let lineStart = true;
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    if (lineStart && depth === 0) {
      const match = /^[ \t]*([A-Za-z_][A-Za-z0-9_]*|'[^'\n]*')[ \t]*:/.exec(body.slice(i));
      if (match) keys.push(match[1]!.replace(/^'|'$/g, ''));
    }
    lineStart = false;
    if (body.startsWith("'''", i)) {
      const end = body.indexOf("'''", i + 3);
      i = end === -1 ? body.length : end + 3;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      while (j < body.length && body[j] !== "'") j += body[j] === '\\' ? 2 : 1;
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[' || c === '(') depth += 1;
    else if (c === '}' || c === ']' || c === ')') depth -= 1;
    else if (c === '\n') lineStart = true;
    i += 1;
  }
  return keys;
}

/**
 * The literal app settings of the function app: the object literal that is the first argument of `union(` in
 * the `properties` of the `name: 'appsettings'` config resource (further arguments are parameters: Key Vault
 * references and operator overrides).
 */
export function appSettingNames(apiBicep: string): string[] {
  const text = stripComments(apiBicep);
  const at = text.search(/name:\s*'appsettings'/);
  if (at === -1) throw new Error("no config resource named 'appsettings'");
  const properties = text.indexOf('properties:', at);
  const open = text.indexOf('{', properties);
  if (properties === -1 || open === -1) throw new Error("the 'appsettings' resource has no properties object");
  return objectKeys(text, open);
}

/** String items of `var <name> = [ … ]`. */
export function arrayVariable(bicep: string, name: string): string[] {
  const text = stripComments(bicep);
  const match = new RegExp(`\\bvar\\s+${name}\\s*=\\s*\\[`).exec(text);
  if (!match) throw new Error(`no array variable ${name}`);
  const open = match.index + match[0].length - 1;
  const body = text.slice(open + 1, matchingBracket(text, open) - 1);
  return [...body.matchAll(/'([^'\n]*)'/g)].map((m) => m[1]!);
}

export interface ResourceVersion {
  readonly type: string;
  readonly apiVersion: string;
}

/** Every `'Provider.Namespace/type[/child…]@yyyy-mm-dd[-preview]'` (resource and existing declarations). */
export function resourceVersions(bicep: string): ResourceVersion[] {
  return [
    ...stripComments(bicep).matchAll(/'([A-Za-z]+\.[A-Za-z]+\/[A-Za-z/]+)@(\d{4}-\d{2}-\d{2}(?:-preview)?)'/g),
  ].map((m) => ({
    type: m[1]!,
    apiVersion: m[2]!,
  }));
}

/** Every GUID literal outside comments (in this template they are role definition IDs and nothing else). */
export function guidLiterals(bicep: string): string[] {
  return [
    ...stripComments(bicep).matchAll(
      /'([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})'/g,
    ),
  ].map((m) => m[1]!.toLowerCase());
}

/** Top-level comma-separated arguments of the call whose `(` is at `open`. */
function callArguments(text: string, open: number): string[] {
  const body = text.slice(open + 1, matchingBracket(text, open) - 1);
  const args: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of body) {
    if (c === '(' || c === '[' || c === '{') depth += 1;
    if (c === ')' || c === ']' || c === '}') depth -= 1;
    if (c === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
    } else current += c;
  }
  if (current.trim() !== '') args.push(current.trim());
  return args;
}

/** Names of role assignments, as the expressions that compute them (`guid(scope, principal, role)` expected). */
export function roleAssignmentNames(
  bicep: string,
): Array<{ symbol: string; name: string; guidArguments: string[] | undefined }> {
  const text = stripComments(bicep);
  return [...text.matchAll(/resource\s+(\w+)\s+'Microsoft\.Authorization\/roleAssignments@[^']+'\s*=/g)].map((m) => {
    const nameAt = text.indexOf('name:', m.index);
    const line = text
      .slice(nameAt, text.indexOf('\n', nameAt))
      .replace(/^name:\s*/, '')
      .trim();
    const guidAt = text.indexOf('guid(', nameAt);
    const isGuid = line.startsWith('guid(');
    return { symbol: m[1]!, name: line, guidArguments: isGuid ? callArguments(text, guidAt + 4) : undefined };
  });
}

/** `output NAME type = …` names. */
export function outputNames(bicep: string): string[] {
  return [...stripComments(bicep).matchAll(/^output\s+(\S+)\s/gm)].map((m) => m[1]!);
}

export interface SettingsParityInput {
  /** configSettingNames of lib/config.ts. */
  readonly schema: readonly string[];
  /** Literal app settings of the function app in the Bicep. */
  readonly bicep: readonly string[];
  /** Values of local.settings.sample.json. */
  readonly sample: readonly string[];
  /** Settings the Functions runtime / platform reads, allowed in the Bicep beside the schema. */
  readonly bicepRuntime: ReadonlySet<string>;
  /** Settings only the local host reads, allowed in the sample beside the schema. */
  readonly sampleRuntime: ReadonlySet<string>;
  /** Schema settings deliberately absent from the Bicep, with the reason. */
  readonly notInBicep: ReadonlyMap<string, string>;
  /** Settings that must never be app settings in Azure (Flex Consumption rejects or ignores them). */
  readonly forbiddenInBicep: ReadonlyMap<string, string>;
}

/** Every disagreement between the schema, the Bicep app settings and the sample, one sentence each. */
export function settingsParityProblems(input: SettingsParityInput): string[] {
  const problems: string[] = [];
  const schema = new Set(input.schema);
  const bicep = new Set(input.bicep);
  const sample = new Set(input.sample);
  for (const name of input.schema) {
    if (!bicep.has(name) && !input.notInBicep.has(name))
      problems.push(
        `setting ${name} is in lib/config.ts configSettingNames but not in the Bicep app settings (infra/app/api.bicep)`,
      );
    if (!sample.has(name))
      problems.push(`setting ${name} is in lib/config.ts configSettingNames but not in local.settings.sample.json`);
  }
  for (const name of input.bicep) {
    if (input.forbiddenInBicep.has(name))
      problems.push(`Bicep app setting ${name} must not be set: ${input.forbiddenInBicep.get(name)}`);
    else if (input.notInBicep.has(name))
      problems.push(
        `Bicep app setting ${name} is listed as deliberately absent (${input.notInBicep.get(name)}) but is set`,
      );
    else if (!schema.has(name) && !input.bicepRuntime.has(name))
      problems.push(
        `Bicep app setting ${name} is neither in lib/config.ts configSettingNames nor in the runtime allow-list`,
      );
  }
  for (const name of input.sample) {
    if (!schema.has(name) && !input.sampleRuntime.has(name))
      problems.push(
        `local.settings.sample.json setting ${name} is neither in lib/config.ts configSettingNames nor in the local runtime allow-list`,
      );
  }
  const duplicates = input.bicep.filter((name, index) => input.bicep.indexOf(name) !== index);
  for (const name of new Set(duplicates)) problems.push(`Bicep app setting ${name} is set twice`);
  return problems;
}

/** Role IDs not in the documented table, and forbidden broad roles. */
export function roleIdProblems(
  ids: readonly string[],
  table: ReadonlyMap<string, string>,
  forbidden: ReadonlyMap<string, string>,
): string[] {
  const known = new Set([...table.values()].map((id) => id.toLowerCase()));
  return [...new Set(ids.map((id) => id.toLowerCase()))].flatMap((id) => {
    if (forbidden.has(id))
      return [`role definition ${id} (${forbidden.get(id)}) is too broad and must not be assigned`];
    if (!known.has(id)) return [`role definition ${id} is not in the table of verified built-in roles`];
    return [];
  });
}

/** API versions outside the documented allow-list. */
export function apiVersionProblems(
  versions: readonly ResourceVersion[],
  allowed: ReadonlyMap<string, readonly string[]>,
): string[] {
  return versions.flatMap(({ type, apiVersion }) => {
    const ok = allowed.get(type);
    if (ok === undefined) return [`resource type ${type} is not in the API version allow-list`];
    return ok.includes(apiVersion)
      ? []
      : [`${type}@${apiVersion} is not an allowed API version (allowed: ${ok.join(', ')})`];
  });
}

/** The decorators (`@minLength(1)`, `@description(…)`, …) written directly above `param <name>`. */
export function paramDecorators(bicep: string, name: string): string[] {
  const text = stripComments(bicep);
  const match = new RegExp(`^param\\s+${name}\\s`, 'm').exec(text);
  if (!match) throw new Error(`no param ${name}`);
  const decorators: string[] = [];
  let end = match.index;
  // Walk back declaration by declaration: a decorator starts a line with `@` and may span lines ('''…''').
  for (;;) {
    const before = text.slice(0, end).replace(/\s+$/, '');
    const at = before.lastIndexOf('\n@') + 1;
    const previousDeclaration = Math.max(
      ...['\nparam ', '\nvar ', '\nresource ', '\nmodule ', '\noutput ', '\ntargetScope'].map((d) =>
        before.lastIndexOf(d),
      ),
    );
    if ((at === 0 && !before.startsWith('@')) || at <= previousDeclaration) break;
    decorators.unshift(before.slice(at).trim());
    end = at;
  }
  return decorators;
}

/** The right-hand side of `var <name> = …` up to the end of its line (string literals keep their quotes). */
export function variableLine(bicep: string, name: string): string {
  const match = new RegExp(`^var\\s+${name}\\s*=\\s*(.*)$`, 'm').exec(stripComments(bicep));
  if (!match) throw new Error(`no var ${name}`);
  return match[1]!.trim();
}
