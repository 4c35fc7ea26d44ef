/**
 * Cold start and package size. Cold start: the time for Node to import the built entry point (package.json "main",
 * what the Functions worker loads), against a bare `node -e ''` in the same run; median of N runs. Package size,
 * zipped (`zip -q -r -9`), before and after issue #16: before, the repository as `.funcignore` let it through up to
 * commit 136cc26 (node_modules with every devDependency; gitignore rules: a pattern without a slash matches a name
 * at any depth, `!dist/**` brings dist/ back); after, the package scripts/stage-package.ts stages for azd.
 *
 *   npx tsx bench/cold-start.ts [runs, default 15]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { stagePackage } from '../scripts/stage-package.js';

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

// After: the package azd deploys now (scripts/stage-package.ts).
const staged = stagePackage(join(mkdtempSync(join(tmpdir(), 'stage-')), 'package'));
const distBytes = sizeOf(join(staged, 'dist'));
const dependencyBytes = sizeOf(join(staged, 'node_modules'));

// Before: what the .funcignore of 136cc26 let through from this working tree (after `npm ci` and a build).
const oldFuncignore = [
  '.git*',
  '.vscode',
  '.sandbox',
  '.ci',
  '__azurite*',
  'local.settings.json',
  'test',
  'bench',
  'dev',
  'docs',
  'infra',
  'scripts',
  '*.ts',
  'tsconfig*.json',
  'eslint.config.js',
  'vitest.config.ts',
  '.deploy',
  '.scratch',
  'coverage',
];
const glob = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
const ignored = oldFuncignore.map(glob);
function admitted(directory: string, inDist: boolean): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    const keep = inDist || !ignored.some((pattern) => pattern.test(name));
    if (!keep) return [];
    return statSync(path).isDirectory() ? admitted(path, inDist || relative('.', path) === 'dist') : [path];
  });
}
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
const before = admitted('.', false);

function zipped(files: string[] | undefined, cwd: string): number {
  const zip = join(mkdtempSync(join(tmpdir(), 'zip-')), 'package.zip');
  const list = join(tmpdir(), `zip-list-${process.pid}.txt`);
  writeFileSync(list, (files ?? ['.']).join('\n'));
  execFileSync('sh', ['-c', `zip -q -r -9 -y "${zip}" -@ < "${list}"`], { cwd, stdio: 'inherit' });
  return statSync(zip).size;
}
const beforeZip = zipped(before, '.');
const afterZip = zipped(undefined, staged);

const ms = (value: number): string => value.toFixed(0);
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
console.log(`\n| measure | value |\n|---|---:|`);
console.log(`| bare \`node -e ''\` (median of ${runs}) | ${ms(median(baseline))} ms |`);
console.log(`| import of dist/functions/index.js (median of ${runs}) | ${ms(median(entry))} ms |`);
console.log(`| entry point ÷ bare node | ${(median(entry) / median(baseline)).toFixed(2)} |`);
console.log(`| entry point − bare node | ${ms(median(entry) - median(baseline))} ms |`);
console.log(`| dist/ | ${(distBytes / 1024).toFixed(0)} KiB |`);
console.log(`| production node_modules | ${mib(dependencyBytes)} MiB |`);
console.log(`| package before (136cc26 .funcignore), zipped | ${mib(beforeZip)} MiB (${before.length} files) |`);
console.log(`| package after (scripts/stage-package.ts), zipped | ${mib(afterZip)} MiB |`);
console.log(`| after ÷ before | ${(afterZip / beforeZip).toFixed(3)} |`);
