import picomatch from 'picomatch';
import { isRepositoryName } from '../core/names.js';

/**
 * Where a policy applies: the registry default (`_default`), a repository glob (`team-a/**`) or one exact
 * repository. For a repository the most specific matching scope wins: exact, then the glob with the longest
 * literal prefix (ties: the longer pattern), then the default.
 */
export type PolicyScope =
  | { readonly kind: 'default'; readonly text: '_default' }
  | { readonly kind: 'exact'; readonly text: string }
  | {
      readonly kind: 'glob';
      readonly text: string;
      readonly matches: (repository: string) => boolean;
      readonly literalPrefix: number;
    };

export const defaultScope = '_default';
/** Reported when no stored policy matches and the DEFAULT_POLICY app setting applies: the registry default. */
export const settingScope = 'DEFAULT_POLICY';

/** Whether two reported scopes are the same policy level (the app setting stands in for an unstored `_default`). */
export function sameScope(a: string, b: string): boolean {
  const level = (scope: string): string => (scope === settingScope ? defaultScope : scope);
  return level(a) === level(b);
}
const maxScopeLength = 256;
const maxWildcards = 8;
/** Characters a glob may use beyond the repository grammar. */
const globCharacters = /^[a-z0-9._\-/*?[\]{},!]+$/;

export type ScopeParse =
  { readonly ok: true; readonly scope: PolicyScope } | { readonly ok: false; readonly reason: string };

export function parseScope(text: string): ScopeParse {
  if (text === defaultScope) return { ok: true, scope: { kind: 'default', text: defaultScope } };
  if (text.length === 0 || text.length > maxScopeLength)
    return { ok: false, reason: `must be 1 to ${maxScopeLength} characters` };
  if (isRepositoryName(text)) return { ok: true, scope: { kind: 'exact', text } };
  if (!globCharacters.test(text))
    return {
      ok: false,
      reason: 'neither a repository name nor a glob of lowercase letters, digits, . _ - / and * ? [ ] { } , !',
    };
  if (text.includes('..') || text.startsWith('/') || text.endsWith('/') || text.includes('//'))
    return { ok: false, reason: 'a glob may not contain "..", "//" or start or end with "/"' };
  const wildcards = (text.match(/[*?[{]/g) ?? []).length;
  if (wildcards === 0) return { ok: false, reason: 'not a valid repository name' };
  if (wildcards > maxWildcards) return { ok: false, reason: `at most ${maxWildcards} wildcards` };
  let matches: (repository: string) => boolean;
  try {
    matches = picomatch(text, { dot: true, strictBrackets: true });
  } catch (error) {
    return { ok: false, reason: `not a valid glob (${(error as Error).message})` };
  }
  return { ok: true, scope: { kind: 'glob', text, matches, literalPrefix: text.search(/[*?[{!]/) } };
}

export function scopeMatches(scope: PolicyScope, repository: string): boolean {
  if (scope.kind === 'default') return true;
  if (scope.kind === 'exact') return scope.text === repository;
  return scope.matches(repository);
}

/** Orders matching scopes from most to least specific. */
export function compareSpecificity(a: PolicyScope, b: PolicyScope): number {
  const rank = (scope: PolicyScope): number => (scope.kind === 'exact' ? 0 : scope.kind === 'glob' ? 1 : 2);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (a.kind === 'glob' && b.kind === 'glob')
    return b.literalPrefix - a.literalPrefix || b.text.length - a.text.length || a.text.localeCompare(b.text);
  return 0;
}

/** The scope that applies to a repository among those given, or undefined. */
export function mostSpecific<T extends { readonly scope: PolicyScope }>(
  candidates: readonly T[],
  repository: string,
): T | undefined {
  return candidates
    .filter((candidate) => scopeMatches(candidate.scope, repository))
    .sort((a, b) => compareSpecificity(a.scope, b.scope))[0];
}

/**
 * Table keys may not contain `/` or `?` (nor `\\`, `#`); scopes never contain `|`, `~` or `%`, so those stand in
 * reversibly.
 */
export function scopeKey(scope: string): string {
  return scope.replaceAll('/', '|').replaceAll('?', '~');
}
export function scopeFromKey(key: string): string {
  return key.replaceAll('|', '/').replaceAll('~', '?');
}
