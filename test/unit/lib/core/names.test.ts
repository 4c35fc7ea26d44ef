import { describe, expect, it } from 'vitest';
import { digestProblem, repositoryProblem } from '../../../../lib/core/names.js';
import { evaluationBody } from '../../../../lib/policy/service.js';
import { startConversionBody } from '../../../../lib/conversion/api.js';

/**
 * Issue #17 § 3: digests as the OCI image spec defines them (descriptor.md § Digests: `algorithm ":" encoded`, sha256
 * with 64 and sha512 with 128 lowercase hex characters) and repository names by the distribution grammar, on every
 * input, the policy evaluation included, each refusal saying what is wrong.
 */
const sha256 = `sha256:${'a'.repeat(64)}`;

describe('digests and repository names', () => {
  it.each([
    [sha256, undefined],
    [`sha512:${'0'.repeat(128)}`, undefined],
    [`sha256:${'a'.repeat(63)}`, 'a sha256 digest has 64 hex characters after "sha256:", not 63'],
    [`sha512:${'a'.repeat(64)}`, 'a sha512 digest has 128 hex characters after "sha512:", not 64'],
    [`sha256:${'A'.repeat(64)}`, 'a sha256 digest is lowercase hex (0-9, a-f) after "sha256:"'],
    [`md5:${'a'.repeat(32)}`, 'unsupported digest algorithm "md5": the OCI image spec registers sha256 and sha512'],
    ['a'.repeat(64), 'not a digest: expected algorithm:encoded, e.g. sha256:<64 lowercase hex>'],
  ])('%s: %s', (digest, problem) => {
    expect(digestProblem(digest)).toBe(problem);
  });

  it.each(['team-a/app', 'a', 'a/b/c', 'a__b/c-d.e'])('%s is a repository name', (name) => {
    expect(repositoryProblem(name)).toBeUndefined();
  });

  it.each(['Team-A/App', 'a//b', '/a', 'a/', 'a..b', 'a'.repeat(256), 'team-a/app:v1'])(
    '%s is not a repository name',
    (name) => {
      expect(repositoryProblem(name)).toBeDefined();
    },
  );

  it('the policy evaluation refuses a repository name and a digest ACR would never hold, naming each field', () => {
    const parsed = evaluationBody.safeParse({ repository: 'Team-A/App', digest: `sha256:${'a'.repeat(63)}` });

    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['repository', expect.stringContaining('not an OCI repository name') as unknown],
      ['digest', 'a sha256 digest has 64 hex characters after "sha256:", not 63'],
    ]);
  });

  it('starting a conversion says which part of a digest is wrong', () => {
    const parsed = startConversionBody.safeParse({ repository: 'team-a/app', digest: `sha512:${'a'.repeat(64)}` });

    expect(parsed.error?.issues[0]?.message).toBe('a sha512 digest has 128 hex characters after "sha512:", not 64');
  });
});
