/**
 * Today's code, for benchmarks that compare against it in the same run (the machine is shared and noisy, so a
 * figure from another session is only indicative). Materializes the source tree of a git ref in a temporary
 * directory — `git archive`, not a worktree, so the repository's state is untouched — with this checkout's
 * node_modules linked in, and caches it per commit.
 *
 *   BENCH_BASELINE=<ref> (default: the commit before issue #19's work) picks the ref.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** main before issue #19: the "today" its targets are measured against. */
export const defaultBaselineRef = '4429e30';

/** The commit a ref names, full length. */
export function resolveCommit(ref: string, root = process.cwd()): string {
  return execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: root, encoding: 'utf8' }).trim();
}

/**
 * The directory holding `ref`'s tree with node_modules linked to `root`'s (created once per commit). The baseline's
 * dependencies are this checkout's: a benchmark compares code, and a dependency added since is simply unused there.
 */
export function baselineTree(ref = process.env.BENCH_BASELINE ?? defaultBaselineRef, root = process.cwd()): string {
  const commit = resolveCommit(ref, root);
  const target = join(tmpdir(), `acr-bench-baseline-${commit.slice(0, 12)}`);
  if (existsSync(join(target, '.complete'))) return target;
  const staging = `${target}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const archive = execFileSync('git', ['archive', '--format=tar', commit], { cwd: root, maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', staging], { input: archive });
  symlinkSync(resolve(root, 'node_modules'), join(staging, 'node_modules'), 'dir');
  execFileSync('touch', [join(staging, '.complete')]);
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  return target;
}

/** A short label for tables: `4429e30 (baseline)`. */
export function baselineLabel(ref = process.env.BENCH_BASELINE ?? defaultBaselineRef, root = process.cwd()): string {
  return `${resolveCommit(ref, root).slice(0, 7)} (today)`;
}
