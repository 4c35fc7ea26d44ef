/**
 * "Did you mean": the names nearest a misspelt tag or repository, for the doctor's `image.exists` check (a typo in the
 * tag or repository is among the commonest pull failures: ../shared/seeds/002, "manifest unknown").
 */
import leven from 'leven';

/**
 * At most `limit` candidates, nearest to `target` first (edit distance, ignoring case); ties keep the candidates'
 * order, which for tags is newest first, so `v1.2` and `v1.3` at the same distance show the newer one first.
 */
export function nearest(target: string, candidates: Iterable<string>, limit: number): string[] {
  const wanted = target.toLowerCase();
  const scored = [...new Set(candidates)].map((name, order) => ({
    name,
    order,
    distance: leven(wanted, name.toLowerCase()),
  }));
  return scored
    .sort((a, b) => a.distance - b.distance || a.order - b.order)
    .slice(0, limit)
    .map((entry) => entry.name);
}
