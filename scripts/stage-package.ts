/**
 * Stages the deployment package in .deploy/: the build (dist/), host.json, package.json and the lockfile, and the
 * production dependencies installed from the lockfile — nothing else (no sources, tests or devDependencies).
 * azure.yaml runs it as the api service's prepackage hook and packages .deploy/ (`dist: .deploy`); azd zips that
 * directory as it is (azure-dev pkg/project/framework_service_node.go: the package path is the service path joined
 * with `dist`), and `remoteBuild: false` keeps Flex Consumption from building it again.
 *
 *   npx tsx scripts/stage-package.ts [destination, default .deploy]
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What goes into the package, and how: the files copied, the compiler's and npm's arguments. */
export function packagePlan(): { copy: string[]; build: string[]; install: string[] } {
  return {
    copy: ['host.json', 'package.json', 'package-lock.json'],
    build: ['-p', 'tsconfig.build.json', '--outDir'],
    install: ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'],
  };
}

/** Builds and stages the package into `destination` (emptied first); returns its absolute path. */
export function stagePackage(destination = '.deploy', root = process.cwd()): string {
  const target = resolve(root, destination);
  const plan = packagePlan();
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), ...plan.build, join(target, 'dist')], {
    cwd: root,
    stdio: 'inherit',
  });
  for (const file of plan.copy) cpSync(join(root, file), join(target, file));
  execFileSync('npm', plan.install, { cwd: target, stdio: 'ignore' });
  return target;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const staged = stagePackage(process.argv[2]);
  console.log(`stage-package: deployment package staged in ${staged}`);
}
