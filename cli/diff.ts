/** One changed leaf: its path (`tags.include`) and the values on each side (absent: `undefined`). */
export interface Change {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The leaves that differ between two JSON values, in key order. Arrays compare as wholes: a policy's lists (tags,
 * owners) are read as one value, and "owners: [a] → [a, b]" says more than an index-by-index diff.
 */
export function jsonChanges(before: unknown, after: unknown, path = ''): Change[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => jsonChanges(before[key], after[key], path ? `${path}.${key}` : key));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path: path || '(whole)', before, after }];
}

export function renderChanges(changes: readonly Change[]): string[] {
  const show = (value: unknown): string => (value === undefined ? '(absent)' : JSON.stringify(value));
  return changes.map((change) => `${change.path}: ${show(change.before)} → ${show(change.after)}`);
}
