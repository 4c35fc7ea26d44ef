/**
 * Cold start and package size. Cold start: the time for Node to import the built entry point (package.json "main",
 * what the Functions worker loads), against a bare `node -e ''` in the same run; median of N runs. Package size: the
 * deployment package as `.funcignore` shapes it — dist/ plus production dependencies installed from the lockfile.
 *
 *   npx tsx bench/cold-start.ts [runs, default 15]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

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
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status ?? 'null'}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const build = mkdtempSync(join(tmpdir(), 'cold-'));
execFileSync(
  process.execPath,
  ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', join(build, 'dist')],
  { stdio: 'inherit' },
);
writeFileSync(
  join(build, 'package.json'),
  JSON.stringify({
    name: 'acr-streaming-autopilot',
    version: '0.0.0',
    type: 'module',
    main: 'dist/functions/index.js',
  }),
);
symlinkSync(resolve('node_modules'), join(build, 'node_modules'));

const baseline: number[] = [];
const entry: number[] = [];
for (let index = 0; index < runs; index++) {
  baseline.push(time(['-e', ''], build));
  entry.push(time(['dist/functions/index.js'], build));
}

// Production dependencies only, from the lockfile, as the deployment would have them.
const prod = mkdtempSync(join(tmpdir(), 'prod-'));
cpSync('package.json', join(prod, 'package.json'));
cpSync('package-lock.json', join(prod, 'package-lock.json'));
execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
  cwd: prod,
  stdio: 'ignore',
});
const distBytes = sizeOf(join(build, 'dist'));
const dependencyBytes = sizeOf(join(prod, 'node_modules'));

const ms = (value: number): string => value.toFixed(0);
console.log(`\n| measure | value |\n|---|---:|`);
console.log(`| bare \`node -e ''\` (median of ${runs}) | ${ms(median(baseline))} ms |`);
console.log(`| import of dist/functions/index.js (median of ${runs}) | ${ms(median(entry))} ms |`);
console.log(`| entry point ÷ bare node | ${(median(entry) / median(baseline)).toFixed(2)} |`);
console.log(`| entry point − bare node | ${ms(median(entry) - median(baseline))} ms |`);
console.log(`| dist/ | ${(distBytes / 1024).toFixed(0)} KiB |`);
console.log(`| production node_modules | ${(dependencyBytes / 1024 / 1024).toFixed(1)} MiB |`);
console.log(`| deployment package (uncompressed) | ${((distBytes + dependencyBytes) / 1024 / 1024).toFixed(1)} MiB |`);
