import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareSpecificity,
  defaultScope,
  mostSpecific,
  parseScope,
  scopeFromKey,
  scopeKey,
  scopeMatches,
  type PolicyScope,
} from '../../../../lib/policy/scope.js';

function scope(text: string): PolicyScope {
  const parsed = parseScope(text);
  if (!parsed.ok) throw new Error(`test scope ${text} does not parse: ${parsed.reason}`);
  return parsed.scope;
}

function reasonFor(text: string): string {
  const parsed = parseScope(text);
  if (parsed.ok) throw new Error(`${text} parsed as ${parsed.scope.kind}`);
  return parsed.reason;
}

describe('parseScope', () => {
  it('reads _default as the registry default', () => {
    expect(parseScope(defaultScope)).toEqual({ ok: true, scope: { kind: 'default', text: '_default' } });
  });

  it.each(['team-a/app', 'app', 'team_a/app.v2', 'a/b/c/d', 'x'.repeat(255)])(
    'reads the repository name %s as an exact scope',
    (text) => {
      expect(parseScope(text)).toEqual({ ok: true, scope: { kind: 'exact', text } });
    },
  );

  it.each([
    ['team-a/**', 7],
    ['team-a/*', 7],
    ['team-?/app', 5],
    ['team-[ab]/app', 5],
    ['{team-a,team-b}/**', 0],
    ['a/**/b', 2],
    ['*/*/*/*/*/*/*/*', 0],
  ])('reads %s as a glob with a literal prefix of %i', (text, literalPrefix) => {
    const parsed = scope(text);

    expect(parsed).toMatchObject({ kind: 'glob', text, literalPrefix });
  });

  it.each<[string, RegExp]>([
    ['', /1 to 256 characters/],
    [`team-a/${'x'.repeat(250)}*`, /1 to 256 characters/],
    ['team-a/../x/*', /"\.\."/],
    ['team-a/..', /"\.\."/],
    ['../**', /"\.\."/],
    ['team-a//*', /"\/\/"/],
    ['team-a//app', /"\/\/"/],
    ['/team-a/*', /start or end with "\/"/],
    ['team-a/', /start or end with "\/"/],
    ['*/*/*/*/*/*/*/*/*', /at most 8 wildcards/],
    ['t?a?m?-?a?/?a?p?p?', /at most 8 wildcards/],
    ['team-[ab/app', /not a valid glob \(Missing closing: "\]"/],
    ['team-a/[]', /not a valid glob/],
    ['a]/*', /not a valid glob \(Missing opening: "\["/],
    ['{team-a,team-b/**', /not a valid glob \(Missing closing: "\}"/],
    ['Team-A/**', /neither a repository name nor a glob/],
    ['team a/*', /neither a repository name nor a glob/],
    ['team-a%2F*', /neither a repository name nor a glob/],
    ['team-a\\*', /neither a repository name nor a glob/],
    ['team-a/@(x|y)', /neither a repository name nor a glob/],
    ['équipe/*', /neither a repository name nor a glob/],
    ['_DEFAULT', /neither a repository name nor a glob/],
    ['-team', /not a valid repository name/],
    ['team_/app', /not a valid repository name/],
    ['!team-a', /not a valid repository name/],
  ])('rejects %j: %s', (text, reason) => {
    expect(reasonFor(text)).toMatch(reason);
  });

  it('never accepts the characters scope keys use as stand-ins, nor ones table keys forbid', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ab-/_.*?[]{},!|~%#\\'.split('')), maxLength: 30 }), (text) => {
        const parsed = parseScope(text);
        if (parsed.ok) expect(text).not.toMatch(/[|~%#\\]/);
      }),
      { seed: 7, numRuns: 500 },
    );
  });
});

describe('precedence', () => {
  const stored = ['_default', 'team-a/**', 'team-a/app', 't*', 'team-*/**', '{team-a,team-b}/app'].map((text) => ({
    scope: scope(text),
  }));
  const winner = (repository: string): string | undefined => mostSpecific(stored, repository)?.scope.text;

  it('an exact scope beats every glob and the default', () => {
    expect(winner('team-a/app')).toBe('team-a/app');
  });

  it('a glob with a longer literal prefix beats a shorter one', () => {
    expect(winner('team-a/other')).toBe('team-a/**');
    expect(winner('team-b/other')).toBe('team-*/**');
    expect(winner('tools')).toBe('t*');
  });

  it('among globs with the same literal prefix, the longer pattern wins', () => {
    const tied = ['team-a/*', 'team-a/**', 'team-a/ap?'].map((text) => ({ scope: scope(text) }));

    expect(mostSpecific(tied, 'team-a/app')?.scope.text).toBe('team-a/ap?');
    expect(mostSpecific(tied, 'team-a/web')?.scope.text).toBe('team-a/**');
  });

  it('falls back to _default, and to nothing without one', () => {
    expect(winner('other/app')).toBe('_default');
    expect(mostSpecific(stored.slice(1), 'other/app')).toBeUndefined();
  });

  it('orders every matching scope from most to least specific', () => {
    const matching = stored
      .filter((candidate) => scopeMatches(candidate.scope, 'team-a/app'))
      .map((candidate) => candidate.scope);

    const ordered = [...matching].sort(compareSpecificity).map((candidate) => candidate.text);

    expect(ordered).toEqual(['team-a/app', 'team-a/**', 'team-*/**', '{team-a,team-b}/app', '_default']);
  });

  it('is independent of the order the policies were stored in', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(stored, { minLength: stored.length }),
        fc.constantFrom('team-a/app', 'team-a/x', 'team-b/app', 'tx', 'zz/top'),
        (shuffled, repository) => {
          expect(mostSpecific(shuffled, repository)?.scope.text).toBe(winner(repository));
        },
      ),
      { seed: 11, numRuns: 150 },
    );
  });

  it('a glob matches across "/" only with **', () => {
    expect(scopeMatches(scope('team-a/*'), 'team-a/app/sub')).toBe(false);
    expect(scopeMatches(scope('team-a/**'), 'team-a/app/sub')).toBe(true);
    expect(scopeMatches(scope('team-a/**'), 'team-b/app')).toBe(false);
  });
});

describe('scopeKey', () => {
  it.each([
    ['_default', '_default'],
    ['team-a/app', 'team-a|app'],
    ['team-a/**', 'team-a|**'],
    ['team-?/a?p', 'team-~|a~p'],
  ])('stores %s as %s and reads it back', (text, key) => {
    expect(scopeKey(text)).toBe(key);
    expect(scopeFromKey(key)).toBe(text);
  });

  it('round-trips every valid scope into a key without /, ?, \\ or #', () => {
    const scopeText = fc
      .string({ unit: fc.constantFrom(...'ab9-_./*?[]{},!'.split('')), minLength: 1, maxLength: 40 })
      .filter((text) => parseScope(text).ok);

    fc.assert(
      fc.property(scopeText, (text) => {
        const key = scopeKey(text);

        expect(key).not.toMatch(/[/?\\#]/);
        expect(scopeFromKey(key)).toBe(text);
      }),
      { seed: 5, numRuns: 300 },
    );
  });
});

describe('sameScope', () => {
  it('treats the DEFAULT_POLICY app setting as the registry default level, and nothing else as equal', async () => {
    const { sameScope } = await import('../../../../lib/policy/scope.js');
    expect(sameScope('DEFAULT_POLICY', '_default')).toBe(true);
    expect(sameScope('_default', '_default')).toBe(true);
    expect(sameScope('team-a/**', '_default')).toBe(false);
    expect(sameScope('DEFAULT_POLICY', 'team-a/app')).toBe(false);
  });
});
