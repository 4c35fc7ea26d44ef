import { compareSpecificity, defaultScope, parseScope, type PolicyScope } from './scope.js';

/**
 * Who may write which scope (issue #17 § 1). The rule: **a writer may create a scope only if they own every existing
 * scope that currently governs any repository the new scope would match**; `_default` and registry-wide globs are
 * Admin-only; a writer who creates a scope is its owner. Changing or deleting a scope needs its ownership (it changes
 * only the repositories that scope governs). Admins may do anything.
 *
 * "Any repository" means every repository *name*, not only those the registry holds today: a scope for a repository
 * pushed tomorrow would take it from its governing scope just the same. So the check runs against the stored scopes
 * alone, with no call to ACR, and errs on the side of refusing: two globs are taken to overlap whenever their literal
 * prefixes do (any name both match starts with both prefixes, so globs that do not overlap that way cannot share a
 * repository).
 */

export interface ScopeOwners {
  /** A stored scope's text (`_default`, a glob or a repository). */
  readonly scope: string;
  readonly owners: readonly string[];
}

/** `_default`, or a glob not confined to one namespace (its literal prefix holds no `/`: `*`, `**`, `team-*`). */
export function isRegistryWide(scope: PolicyScope): boolean {
  if (scope.kind === 'default') return true;
  if (scope.kind === 'exact') return false;
  return !scope.text.slice(0, scope.literalPrefix).includes('/');
}

/**
 * The scopes a new scope would take repositories from: each stored scope that governs, before the write, some
 * repository the new scope would govern after it. `_default` stands for the registry default (the stored `_default`
 * or the DEFAULT_POLICY setting) and is listed unless the new scope lies wholly inside a stored glob.
 */
export function scopesTakenOver(target: PolicyScope, stored: readonly string[]): string[] {
  if (target.kind === 'default') return [];
  const globs = stored
    .filter((text) => text !== target.text && text !== defaultScope)
    .map((text) => parseScope(text))
    .flatMap((parsed) => (parsed.ok && parsed.scope.kind === 'glob' ? [parsed.scope] : []));
  if (target.kind === 'exact') {
    // One repository: exactly the scope that governs it now.
    const governing = globs.filter((glob) => glob.matches(target.text)).sort(compareSpecificity)[0];
    return [governing?.text ?? defaultScope];
  }
  // A glob wholly inside a stored glob `outer` takes nothing from scopes `outer` itself wins over.
  const outers = globs.filter((glob) => contains(glob, target));
  const shadowed = (scope: Glob): boolean => outers.some((outer) => compareSpecificity(outer, scope) < 0);
  const taken = globs.filter((glob) => takesFrom(target, glob) && !shadowed(glob)).map((glob) => glob.text);
  return outers.length > 0 ? taken : [...taken, defaultScope];
}

type Glob = PolicyScope & { kind: 'glob' };

/** Whether the glob `target` wins over the glob `other` for some repository both may match. */
function takesFrom(target: Glob, other: Glob): boolean {
  if (compareSpecificity(target, other) >= 0) return false;
  const [a, b] = [literal(target), literal(other)];
  return a.startsWith(b) || b.startsWith(a);
}

/** Whether every repository `inner` matches is matched by the glob `outer` (decided only for `prefix**` globs). */
function contains(outer: Glob, inner: PolicyScope): boolean {
  if (inner.kind === 'exact') return outer.matches(inner.text);
  if (inner.kind !== 'glob') return false;
  const prefix = literal(outer);
  // `team-a/**` matches every name under `team-a/`; other shapes are not decided here, so they do not cover.
  return outer.text === `${prefix}**` && (prefix === '' || prefix.endsWith('/')) && literal(inner).startsWith(prefix);
}

function literal(scope: Glob): string {
  return scope.text.slice(0, scope.literalPrefix);
}

/** Whether one of the caller's names (object id, name) is among the owners, compared case-insensitively. */
export function ownsScope(owners: readonly string[], callerNames: readonly string[]): boolean {
  const names = callerNames.map((name) => name.toLowerCase());
  return owners.some((owner) => names.includes(owner.toLowerCase()));
}
