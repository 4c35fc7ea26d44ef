import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { policySchema } from '../../../../lib/policy/model.js';
import { mergePatch } from '../../../../lib/policy/service.js';

/** Documents as JSON text, exactly as RFC 7386 prints them, parsed like a request body would be. */
const json = (text: string): unknown => JSON.parse(text);

describe('mergePatch (RFC 7386)', () => {
  it('applies the example of section 3', () => {
    const target = json(`{
      "title": "Goodbye!",
      "author": { "givenName": "John", "familyName": "Doe" },
      "tags": ["example", "sample"],
      "content": "This will be unchanged"
    }`);
    const patch = json(`{
      "title": "Hello!",
      "phoneNumber": "+01-123-456-7890",
      "author": { "familyName": null },
      "tags": ["example"]
    }`);

    expect(mergePatch(target, patch)).toEqual(
      json(`{
        "title": "Hello!",
        "author": { "givenName": "John" },
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890"
      }`),
    );
  });

  // Appendix A, row by row: original, patch, result.
  it.each([
    ['{"a":"b"}', '{"a":"c"}', '{"a":"c"}'],
    ['{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'],
    ['{"a":"b"}', '{"a":null}', '{}'],
    ['{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'],
    ['{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'],
    ['{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'],
    ['{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'],
    ['{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'],
    ['["a","b"]', '["c","d"]', '["c","d"]'],
    ['{"a":"b"}', '["c"]', '["c"]'],
    ['{"a":"foo"}', 'null', 'null'],
    ['{"a":"foo"}', '"bar"', '"bar"'],
    ['{"e":null}', '{"a":1}', '{"e":null,"a":1}'],
    ['[1,2]', '{"a":"b","c":null}', '{"a":"b"}'],
    ['{}', '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'],
  ])('Appendix A: %s patched with %s is %s', (original, patch, result) => {
    expect(mergePatch(json(original), json(patch))).toEqual(json(result));
  });

  it('leaves the target untouched', () => {
    const target = { a: { b: 'c' }, d: [1] };
    const before = structuredClone(target);

    mergePatch(target, { a: { b: null, e: 1 }, d: null });

    expect(target).toEqual(before);
  });

  it('treats "__proto__" as an ordinary member, as JSON does, never as the prototype', () => {
    const patched = mergePatch({ mode: 'off' }, json('{"mode": null, "__proto__": {"mode": "onPush"}}')) as Record<
      string,
      unknown
    >;

    expect(Object.keys(patched)).toEqual(['__proto__']);
    expect(patched.mode).toBeUndefined();
    // So a patch naming "__proto__" fails the policy schema like a PUT naming it does, instead of smuggling fields.
    const parsed = policySchema.safeParse(patched);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues).toEqual([expect.objectContaining({ code: 'unrecognized_keys', keys: ['__proto__'] })]);
  });

  it('is idempotent', () => {
    const value = fc.jsonValue({ maxDepth: 3 });
    fc.assert(
      fc.property(value, value, (target, patch) => {
        const once = mergePatch(target, patch);

        expect(mergePatch(once, patch)).toEqual(once);
      }),
      { seed: 3, numRuns: 200 },
    );
  });

  it("turns a policy back to a field's default when the patch removes it", () => {
    const stored = policySchema.parse({
      mode: 'onPush',
      tags: { include: ['v*'], exclude: ['*-rc'] },
      description: 'x',
    });

    const patched = policySchema.parse(mergePatch(stored, { tags: { exclude: null }, description: null }));

    expect(patched).toEqual({ ...stored, tags: { include: ['v*'], exclude: [] }, description: '' });
  });
});
