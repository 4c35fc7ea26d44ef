/**
 * Stages the deployment package in .deploy/: the app bundled by esbuild (dist/), host.json and a minimal package.json
 * whose "main" is the bundle — no node_modules, no sources, no source maps (those go beside it, in
 * .deploy.sourcemaps/, for symbolicating a stack trace). azure.yaml runs it as the api service's prepackage hook and
 * packages .deploy/ (`dist: .deploy`); azd zips that directory as it is (azure-dev
 * pkg/project/framework_service_node.go: the package path is the service path joined with `dist`), and
 * `remoteBuild: false` keeps Flex Consumption from building it again.
 *
 *   npx tsx scripts/stage-package.ts [destination, default .deploy]
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync, type BuildOptions, type Metafile } from 'esbuild';

/** Where the bundle's entry lands inside the package; package.json "main". */
export const bundleEntry = 'dist/index.js';

/**
 * Modules left out of the bundle. `@azure/functions-core` is not an npm package: the Node.js worker provides it by
 * intercepting `require` (Azure/azure-functions-nodejs-worker src/setupCoreModule.ts, "available to users only at
 * runtime, not as an installable npm package"), and `@azure/functions` asks for it with a plain
 * `require('@azure/functions-core')`, falling back to "test mode" without it (azure-functions-nodejs-library
 * src/utils/tryGetCoreApiLazy.ts). Every other runtime dependency is pure JavaScript without dynamic requires, so
 * the package needs no node_modules.
 */
export const externalModules = ['@azure/functions-core'];

/** What goes into the package, and how: the files copied as they are, and esbuild's options. */
export function packagePlan(outdir: string): { copy: string[]; bundle: BuildOptions } {
  return {
    copy: ['host.json'],
    bundle: {
      entryPoints: { index: 'functions/index.ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // One file. A module the handlers import on first use (functions/*.ts) is wrapped in a function esbuild calls
      // at that import, after the modules it depends on, so the entry point loads no Azure SDK (issue #19 §1).
      // Not `splitting`: across chunks esbuild does not keep the order of side effects (evanw/esbuild#399, open), and
      // lib/core/zod.ts must extend zod before any schema calls `.openapi()` — split, a cold instance's first event
      // failed with ".openapi is not a function" (test/e2e/azure-entry-point.test.ts invokes onRegistryEvent first).
      outdir,
      external: externalModules,
      minify: true,
      // Class and function names stay: errors and logs name them (`error.name`, constructor names).
      keepNames: true,
      // Kept for stack traces, moved out of the package by stagePackage.
      sourcemap: 'external',
      metafile: true,
      legalComments: 'none',
      logLevel: 'warning',
      // The bundled CommonJS dependencies call require() (node: built-ins, @azure/functions-core); an ES module has
      // none, so the bundle makes one (evanw/esbuild#1921, "Dynamic require of X is not supported"). It is Node's
      // Module.prototype.require, which the worker intercepts to provide @azure/functions-core.
      banner: {
        js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
      },
    },
  };
}

/** The package's manifest: what the worker reads ("main", ESM) and what lib/version.ts reports. */
export function packageManifest(root = process.cwd()): Record<string, unknown> {
  const source = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  return { name: source.name, version: source.version, private: true, type: 'module', main: bundleEntry };
}

/**
 * Builds and stages the package into `destination` (emptied first), and the source maps into
 * `<destination>.sourcemaps`; returns the package's absolute path and esbuild's metafile (which module ended up in
 * which output file).
 */
export function stagePackage(destination = '.deploy', root = process.cwd()): { path: string; metafile: Metafile } {
  const target = resolve(root, destination);
  const maps = `${target}.sourcemaps`;
  const plan = packagePlan(join(target, 'dist'));
  for (const directory of [target, maps]) {
    rmSync(directory, { recursive: true, force: true });
    mkdirSync(directory, { recursive: true });
  }
  const result = buildSync({ ...plan.bundle, absWorkingDir: root });
  for (const file of plan.copy) cpSync(join(root, file), join(target, file));
  writeFileSync(join(target, 'package.json'), `${JSON.stringify(packageManifest(root), undefined, 2)}\n`);
  for (const file of readdirSync(join(target, 'dist'), { recursive: true, encoding: 'utf8' }))
    if (file.endsWith('.map')) {
      mkdirSync(join(maps, file, '..'), { recursive: true });
      renameSync(join(target, 'dist', file), join(maps, file));
    }
  return { path: target, metafile: result.metafile! };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { path } = stagePackage(process.argv[2]);
  console.log(`stage-package: deployment package staged in ${path}`);
}
