/**
 * Cold start and package size, today's code against this checkout in the same run (issue #19 §1). Each side is the
 * package azd deploys, staged by that side's own scripts/stage-package.ts: today's (bench/baseline.ts, commit
 * 4429e30: tsc build + `npm ci --omit=dev`) and the new one (esbuild bundle, no node_modules). Cold start: the time
 * Node takes to import the package's "main" (what the Functions worker loads), against a bare `node -e ''`, median
 * of N runs, the two packages interleaved so the machine's noise falls on both. Size: the package zipped with
 * `zip -q -r -9`.
 *
 *   npx tsx bench/cold-start.ts [runs, default 15]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stagePackage } from '../scripts/stage-package.js';
import { baselineLabel, baselineTree } from './baseline.js';

const runs = Number(process.argv[2] ?? 15);

function sizeOf(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function time(args: string[], cwd: string): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd, env: { PATH: process.env.PATH }, stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} in ${cwd} exited ${result.status ?? 'null'}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function zipped(directory: string): number {
  const zip = join(mkdtempSync(join(tmpdir(), 'zip-')), 'package.zip');
  execFileSync('zip', ['-q', '-r', '-9', '-y', zip, '.'], { cwd: directory, stdio: 'inherit' });
  return statSync(zip).size;
}

const main = (directory: string): string =>
  (JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { main: string }).main;

// Today: the baseline tree's own staging script (its tsc build and its `npm ci --omit=dev` from its lockfile).
const today = join(mkdtempSync(join(tmpdir(), 'stage-today-')), 'package');
execFileSync(process.execPath, ['--import', 'tsx', 'scripts/stage-package.ts', today], {
  cwd: baselineTree(),
  stdio: 'inherit',
});
const fresh = stagePackage(join(mkdtempSync(join(tmpdir(), 'stage-new-')), 'package')).path;

const bare: number[] = [];
const todayImport: number[] = [];
const newImport: number[] = [];
for (let index = 0; index < runs; index++) {
  bare.push(time(['-e', ''], fresh));
  todayImport.push(time([main(today)], today));
  newImport.push(time([main(fresh)], fresh));
}

const ms = (value: number): string => `${value.toFixed(0)} ms`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
const ratio = (after: number, before: number): string => (after / before).toFixed(3);
const [todayZip, newZip] = [zipped(today), zipped(fresh)];
const [todayBytes, newBytes] = [sizeOf(today), sizeOf(fresh)];
const [todayMs, newMs, bareMs] = [median(todayImport), median(newImport), median(bare)];
console.log(`\n| measure (median of ${runs}) | ${baselineLabel()} | this checkout | new ÷ today |`);
console.log(`|---|---:|---:|---:|`);
console.log(`| bare \`node -e ''\` | ${ms(bareMs)} | ${ms(bareMs)} | |`);
console.log(`| import of package.json "main" | ${ms(todayMs)} | ${ms(newMs)} | ${ratio(newMs, todayMs)} |`);
console.log(
  `| import − bare node | ${ms(todayMs - bareMs)} | ${ms(newMs - bareMs)} | ${ratio(newMs - bareMs, todayMs - bareMs)} |`,
);
console.log(`| package, zipped | ${mib(todayZip)} | ${mib(newZip)} | ${ratio(newZip, todayZip)} |`);
console.log(`| package, uncompressed | ${mib(todayBytes)} | ${mib(newBytes)} | ${ratio(newBytes, todayBytes)} |`);
console.log(`| "main" | ${main(today)} | ${main(fresh)} | |`);
