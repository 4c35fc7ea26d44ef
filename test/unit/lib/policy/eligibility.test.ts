import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decide,
  type ImageFacts,
  type RegistryReadiness,
  type SkipReason,
} from '../../../../lib/policy/eligibility.js';
import { policySchema, type PolicyInput } from '../../../../lib/policy/model.js';
import { tagPattern } from '../../../../lib/core/names.js';

const gib = 1024 ** 3;
const ready: RegistryReadiness = { ready: true };
const linuxAmd64 = { os: 'linux', architecture: 'amd64' };

function policy(input: PolicyInput = {}) {
  return policySchema.parse({ mode: 'onPush', ...input });
}

function image(overrides: Partial<ImageFacts> = {}): ImageFacts {
  return {
    repository: 'team-a/app',
    tags: ['1.0'],
    kind: 'image',
    platforms: [linuxAmd64],
    sizeBytes: 100 * 1024 ** 2,
    ...overrides,
  };
}

describe('decide', () => {
  it('makes a tagged linux/amd64 image under the limit eligible', () => {
    expect(decide(policy(), image(), ready)).toEqual({ eligible: true, reason: 'eligible' });
  });

  const skips: Array<[SkipReason, PolicyInput, Partial<ImageFacts>, RegistryReadiness, RegExp]> = [
    ['policy-off', { mode: 'off' }, {}, ready, /off/],
    ['tag-not-included', { tags: { include: ['v*'], exclude: [] } }, { tags: ['latest'] }, ready, /latest/],
    ['tag-excluded', { tags: { include: ['*'], exclude: ['*-rc*'] } }, { tags: ['1.0-rc1'] }, ready, /1\.0-rc1/],
    ['untagged', {}, { tags: [] }, ready, /without a tag/],
    ['referrer', {}, { kind: 'referrer', platforms: [] }, ready, /referrer/],
    ['helm-chart', {}, { kind: 'helm-chart', platforms: [] }, ready, /Helm/],
    ['not-an-image', {}, { kind: 'artifact', platforms: [] }, ready, /artifact/],
    ['unsupported-platform', {}, { platforms: [{ os: 'linux', architecture: 'arm64' }] }, ready, /linux\/arm64/],
    ['too-large', { maxImageSizeGiB: 30 }, { sizeBytes: 31 * gib }, ready, /31\.0 GiB, over the 30 GiB limit/],
    ['registry-not-ready', {}, {}, { ready: false, reason: 'the registry is not Premium' }, /not Premium/],
  ];

  it.each(skips)('skips with %s', (reason, input, facts, readiness, text) => {
    const decision = decide(policy(input), image(facts), readiness);

    expect(decision).toMatchObject({ eligible: false, skip: reason });
    expect(decision.reason).toMatch(text);
  });

  it('skips referrers, charts and artifacts even when tag rules and platform are ignored', () => {
    const options = { ignoreTagRules: true, ignorePlatform: true };

    const decisions = (['referrer', 'helm-chart', 'artifact'] as const).map((kind) =>
      decide(policy(), image({ kind, platforms: [] }), ready, options),
    );

    expect(decisions.map((d) => (d.eligible ? 'eligible' : d.skip))).toEqual([
      'referrer',
      'helm-chart',
      'not-an-image',
    ]);
  });

  it('has a default reason when the registry is not ready and gives none', () => {
    expect(decide(policy(), image(), { ready: false })).toMatchObject({
      skip: 'registry-not-ready',
      reason: 'the registry cannot convert images',
    });
  });

  it('says "unknown" for an image whose platform is not known', () => {
    expect(decide(policy(), image({ platforms: [] }), ready)).toMatchObject({
      skip: 'unsupported-platform',
      reason: expect.stringContaining('unknown') as string,
    });
  });

  describe('indexes', () => {
    it('is eligible when a child is linux/amd64', () => {
      const index = image({ kind: 'index', platforms: [{ os: 'linux', architecture: 'arm64' }, linuxAmd64] });

      expect(decide(policy(), index, ready)).toEqual({
        eligible: true,
        reason: 'eligible: the index has a linux/amd64 image',
      });
    });

    it('is skipped without a linux/amd64 child, naming what it found', () => {
      const index = image({
        kind: 'index',
        platforms: [
          { os: 'linux', architecture: 'arm64' },
          { os: 'windows', architecture: 'amd64' },
        ],
      });

      const decision = decide(policy(), index, ready);

      expect(decision).toMatchObject({ eligible: false, skip: 'unsupported-platform' });
      expect(decision.reason).toContain('the index has no linux/amd64 image (found linux/arm64, windows/amd64)');
    });
  });

  describe('size limit', () => {
    it.each([
      [30 * gib - 1, true],
      [30 * gib, true],
      [30 * gib + 1, false],
    ])('%d bytes under a 30 GiB limit: eligible %s', (sizeBytes, eligible) => {
      expect(decide(policy({ maxImageSizeGiB: 30 }), image({ sizeBytes }), ready).eligible).toBe(eligible);
    });

    it('does not skip an image of unknown size', () => {
      expect(decide(policy({ maxImageSizeGiB: 1 }), image({ sizeBytes: undefined }), ready).eligible).toBe(true);
    });

    it('applies to a manual request with tag rules and platform ignored', () => {
      expect(
        decide(policy(), image({ sizeBytes: 31 * gib }), ready, { ignoreTagRules: true, ignorePlatform: true }),
      ).toMatchObject({ skip: 'too-large' });
    });
  });

  describe('options', () => {
    it('ignoreTagRules bypasses the off switch, tag rules and untagged', () => {
      const options = { ignoreTagRules: true };

      const decisions = [
        decide(policy({ mode: 'off' }), image(), ready, options),
        decide(policy({ tags: { include: ['v*'], exclude: [] } }), image({ tags: ['latest'] }), ready, options),
        decide(policy({ tags: { include: ['*'], exclude: ['*'] } }), image(), ready, options),
        decide(policy(), image({ tags: [] }), ready, options),
      ];

      expect(decisions.every((d) => d.eligible)).toBe(true);
    });

    it('ignoreTagRules does not bypass the platform or readiness', () => {
      const options = { ignoreTagRules: true };

      expect(
        decide(policy(), image({ platforms: [{ os: 'windows', architecture: 'amd64' }] }), ready, options),
      ).toMatchObject({ skip: 'unsupported-platform' });
      expect(decide(policy(), image(), { ready: false }, options)).toMatchObject({ skip: 'registry-not-ready' });
    });

    it('ignorePlatform lets an unsupported platform through but keeps tag rules', () => {
      const arm = image({ platforms: [{ os: 'linux', architecture: 'arm64' }] });

      expect(decide(policy(), arm, ready, { ignorePlatform: true }).eligible).toBe(true);
      expect(decide(policy({ mode: 'off' }), arm, ready, { ignorePlatform: true })).toMatchObject({
        skip: 'policy-off',
      });
    });
  });

  describe('tag globs', () => {
    it.each([
      [['v*'], [], ['v1.2.3'], true],
      [['v*'], [], ['1.2.3'], false],
      [['*'], [], ['.hidden'], true], // dot: true — a leading dot is an ordinary character in a tag
      [['release-+([0-9])'], [], ['release-42'], true],
      [['{main,prod}'], [], ['prod'], true],
      [['*'], ['*-rc*', 'dev'], ['2.0-rc1'], false],
      [['*'], ['*-rc*', 'dev'], ['dev'], false],
      [['*'], ['*-rc*', 'dev'], ['development'], true], // exclude patterns are whole-tag matches, not substrings
      [['1.?'], [], ['1.10'], false],
    ])('include %j exclude %j, tags %j: eligible %s', (include, exclude, tags, eligible) => {
      expect(decide(policy({ tags: { include, exclude } }), image({ tags }), ready).eligible).toBe(eligible);
    });

    it('is eligible when one tag is included and not excluded, even if another is excluded', () => {
      const decision = decide(
        policy({ tags: { include: ['*'], exclude: ['latest'] } }),
        image({ tags: ['latest', '1.0'] }),
        ready,
      );

      expect(decision.eligible).toBe(true);
    });

    it('is not eligible when the only included tag is excluded, though another tag is not included', () => {
      const decision = decide(
        policy({ tags: { include: ['v*'], exclude: ['v*-rc*'] } }),
        image({ tags: ['v2-rc1', 'latest'] }),
        ready,
      );

      expect(decision).toMatchObject({ eligible: false, skip: 'tag-excluded' });
    });

    it('converts untagged pushes when the policy says so', () => {
      expect(decide(policy({ untagged: true }), image({ tags: [] }), ready).eligible).toBe(true);
    });
  });

  it('never makes a tag eligible through itself when an exclude pattern matches it (property)', () => {
    const tag = fc.stringMatching(tagPattern);
    // Patterns that certainly match the tag: the tag itself, a prefix or suffix with *, or * alone.
    const excluding = (value: string) =>
      fc.oneof(
        fc.constant(value),
        fc.constant('*'),
        fc.nat({ max: value.length }).map((cut) => `${value.slice(0, cut)}*`),
        fc.nat({ max: value.length }).map((cut) => `*${value.slice(cut)}`),
      );
    const anyPattern = fc.oneof(fc.stringMatching(/^[a-z0-9.*?-]{1,12}$/), fc.constant('*'));
    const scenario = tag.chain((value) =>
      fc.record({
        tag: fc.constant(value),
        exclude: excluding(value),
        otherExcludes: fc.array(anyPattern, { maxLength: 3 }),
        include: fc.array(anyPattern, { minLength: 1, maxLength: 3 }),
        includeTag: fc.boolean(),
      }),
    );

    fc.assert(
      fc.property(scenario, ({ tag: value, exclude, otherExcludes, include, includeTag }) => {
        const tags = { include: includeTag ? [...include, value] : include, exclude: [...otherExcludes, exclude] };

        const decision = decide(policy({ tags }), image({ tags: [value] }), ready);

        expect(decision.eligible).toBe(false);
      }),
    );
  });
});

describe('decide in native mode', () => {
  const image = {
    repository: 'team-a/app',
    tags: ['v1'],
    kind: 'image' as const,
    platforms: [{ os: 'linux', architecture: 'amd64' }],
    sizeBytes: 1_000,
  };
  const native = policySchema.parse({ mode: 'native' });

  it('leaves pushes to ACR, which converts them itself, but converts existing images (backfill)', () => {
    expect(decide(native, image, { ready: true }, { push: true })).toMatchObject({
      eligible: false,
      skip: 'native-mode',
    });
    expect(decide(native, image, { ready: true })).toMatchObject({ eligible: true });
  });
});
