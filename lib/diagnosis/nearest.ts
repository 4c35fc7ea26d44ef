/**
 * "Did you mean": the names nearest a misspelt tag or repository, for the doctor's `image.exists` check (a typo in the
 * tag or repository is among the commonest pull failures: ../shared/seeds/002, "manifest unknown").
 */

/** Levenshtein distance (insertions, deletions, substitutions, each 1), two rows of memory. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * At most `limit` candidates, nearest to `target` first (edit distance, ignoring case); ties keep the candidates'
 * order, which for tags is newest first, so `v1.2` and `v1.3` at the same distance show the newer one first.
 */
export function nearest(target: string, candidates: Iterable<string>, limit: number): string[] {
  const wanted = target.toLowerCase();
  const scored = [...new Set(candidates)].map((name, order) => ({
    name,
    order,
    distance: editDistance(wanted, name.toLowerCase()),
  }));
  return scored
    .sort((a, b) => a.distance - b.distance || a.order - b.order)
    .slice(0, limit)
    .map((entry) => entry.name);
}
