import { expect, it } from 'vitest';
import { jsonChanges, renderChanges } from '../../../cli/diff.js';

it('lists the changed leaves by path, arrays as wholes, absent fields as such', () => {
  const before = { mode: 'off', tags: { include: ['*'], exclude: [] }, owners: ['a'], description: 'x' };
  const after = { mode: 'onPush', tags: { include: ['v*'], exclude: [] }, owners: ['a'], untagged: true };

  const changes = jsonChanges(before, after);

  expect(renderChanges(changes)).toEqual([
    'description: "x" → (absent)',
    'mode: "off" → "onPush"',
    'tags.include: ["*"] → ["v*"]',
    'untagged: (absent) → true',
  ]);
  expect(jsonChanges(before, structuredClone(before))).toEqual([]);
});
