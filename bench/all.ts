/**
 * `npm run bench`: every benchmark, one after the other, each with the arguments its section of docs/benchmarks.md
 * documents (issue #19 § 6). Arguments to one benchmark go to its own script (`npm run bench:push -- 100 1,10`);
 * this runner takes none, so a run of all of them always reproduces the documented figures.
 *
 *   npm run bench            (about an hour on 2 cores)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** package.json script → its documented arguments, in the order they run. */
export const documentedRuns: ReadonlyArray<{ readonly script: string; readonly args: readonly string[] }> = [
  { script: 'bench:cold-start', args: ['15'] },
  { script: 'bench:push', args: ['1000', '1,10,100'] },
  { script: 'bench:polls', args: [] },
  { script: 'bench:audit', args: ['10000', '20'] },
  { script: 'bench:audit', args: ['100000', '50'] },
  { script: 'bench:partitions', args: ['400'] },
  { script: 'bench:sweeper', args: ['100000', '50', '10'] },
  { script: 'bench:drift', args: ['1000', '0.1'] },
  { script: 'bench:chaos', args: ['500', '20', '12'] },
  { script: 'bench:throttle', args: ['1000', '30', '2'] },
];

/** The `bench:*` scripts of package.json. */
export function benchScripts(packageJson = 'package.json'): Record<string, string> {
  const scripts = (JSON.parse(readFileSync(packageJson, 'utf8')) as { scripts: Record<string, string> }).scripts;
  return Object.fromEntries(Object.entries(scripts).filter(([name]) => name.startsWith('bench:')));
}

export function main(args: readonly string[]): number {
  if (args.length > 0) {
    console.error(
      `npm run bench runs every benchmark with its documented arguments and takes none (got: ${args.join(' ')}).\n` +
        'Give arguments to one benchmark instead, e.g. npm run bench:push -- 1000 1,10,100.',
    );
    return 2;
  }
  const failed: string[] = [];
  for (const run of documentedRuns) {
    const label = `npm run ${run.script}${run.args.length > 0 ? ` -- ${run.args.join(' ')}` : ''}`;
    console.log(`\n=== ${label}`);
    const result = spawnSync('npm', ['run', '--silent', run.script, '--', ...run.args], { stdio: 'inherit' });
    if (result.status !== 0) failed.push(`${label} (exit ${result.status ?? result.signal ?? 'unknown'})`);
  }
  if (failed.length > 0) console.error(`\nfailed:\n${failed.join('\n')}`);
  return failed.length === 0 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
