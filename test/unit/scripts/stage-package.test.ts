import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry, externalModules, packagePlan, stagePackage } from '../../../scripts/stage-package.js';

/**
 * Issue #16 §4, #19 §1: the deployment package is the app bundled by esbuild, host.json and a minimal manifest.
 * azd packages the directory named by the service's `dist` (azure-dev pkg/project/framework_service_node.go: the
 * package path is the service path joined with OutputPath), so a prepackage hook stages exactly that into .deploy/.
 */
describe('deployment package', () => {
  const azureYaml = readFileSync('azure.yaml', 'utf8');

  it('has azd package the staged directory, built here (no remote build that would install devDependencies)', () => {
    expect(azureYaml).toMatch(/\n {4}dist: \.deploy\n/);
    expect(azureYaml).toMatch(/\n {4}remoteBuild: false\n/);
    expect(azureYaml).toMatch(/prepackage:[\s\S]*run: npx tsx scripts\/stage-package\.ts/);
  });

  it('bundles the entry point as ESM, leaving out only the module the Functions worker provides', () => {
    const { copy, bundle } = packagePlan('out');
    expect(copy).toEqual(['host.json']);
    expect(bundle).toMatchObject({ entryPoints: { index: 'functions/index.ts' }, bundle: true, format: 'esm' });
    expect(bundle.external).toEqual(['@azure/functions-core']);
    expect(externalModules).toEqual(['@azure/functions-core']);
    expect(bundle.sourcemap).toBe('external');
  });

  it('keeps the staging directories out of git and out of the linters', () => {
    expect(readFileSync('.gitignore', 'utf8')).toMatch(/^\.deploy\/$/m);
    expect(readFileSync('.gitignore', 'utf8')).toMatch(/^\.deploy\.sourcemaps\/$/m);
    expect(readFileSync('.prettierignore', 'utf8')).toMatch(/^\.deploy$/m);
    expect(readFileSync('.prettierignore', 'utf8')).toMatch(/^\.deploy\.sourcemaps$/m);
  });
});

describe('the staged bundle', () => {
  let path: string;
  let metafile: Metafile;

  beforeAll(() => {
    ({ path, metafile } = stagePackage(join(mkdtempSync(join(tmpdir(), 'stage-test-')), 'package')));
  }, 120_000);

  it('holds the bundle, host.json and a manifest whose "main" is the bundle: no node_modules, no source maps', () => {
    const files = readdirSync(path, { recursive: true, encoding: 'utf8' });
    expect(files.filter((file) => !file.startsWith('dist')).sort()).toEqual(['host.json', 'package.json']);
    expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
    expect(readdirSync(`${path}.sourcemaps`, { recursive: true, encoding: 'utf8' })).toContain('index.js.map');
    const manifest = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: 'acr-streaming-autopilot', type: 'module', main: bundleEntry });
    expect(manifest).not.toHaveProperty('dependencies');
  });

  /**
   * The modules evaluated on a path, from esbuild's own module graph: what its start imports statically (or requires),
   * transitively. A dynamic import is not followed: esbuild wraps its target in a function called at that import.
   */
  function modulesLoadedFrom(starts: readonly string[]): string[] {
    const pending = [...starts];
    const seen = new Set<string>();
    while (pending.length > 0) {
      const source = pending.pop()!;
      if (seen.has(source)) continue;
      seen.add(source);
      const input = metafile.inputs[source];
      expect(input, source).toBeDefined();
      for (const imported of input!.imports)
        if (!imported.external && imported.kind !== 'dynamic-import') pending.push(imported.path);
    }
    return [...seen];
  }
  const sdk = (modules: string[], name: string): boolean =>
    modules.some((file) => file.includes(`node_modules/${name}/`));

  it('loads no Azure SDK but @azure/functions when the worker imports the entry point', () => {
    const loaded = modulesLoadedFrom(['functions/index.ts']);
    expect(sdk(loaded, '@azure/functions')).toBe(true);
    for (const name of ['@azure/identity', '@azure/data-tables', '@azure/storage-queue', '@azure/storage-blob', 'zod'])
      expect(sdk(loaded, name), name).toBe(false);
    // The declarations and the lazy-loading helpers only: no composition root, no domain, no storage adapter.
    expect(
      loaded.filter((file) => /^lib\/(deps|conversion|storage|registry|reports|audit|policy|alerts)\b/.test(file)),
    ).toEqual([]);
  });

  it('loads neither report rendering, Blob Storage nor the ARM SDK on the Event Grid path', () => {
    // onRegistryEvent imports the composition root on its first event (functions/onRegistryEvent.ts).
    const loaded = modulesLoadedFrom(['functions/index.ts', 'lib/deps.ts']);
    expect(loaded).toContain('lib/conversion/service.ts');
    expect(sdk(loaded, '@azure/data-tables')).toBe(true);
    expect(loaded.filter((file) => /^lib\/reports\/render\/(html|markdown|csv|json|svg)\.ts$/.test(file))).toEqual([]);
    expect(sdk(loaded, '@azure/storage-blob')).toBe(false);
    // Nor the ARM SDKs of the consumer audit and the doctor (issue #20), which lib/registry/consumer-source.ts imports
    // lazily.
    for (const name of [
      '@azure/arm-containerregistry',
      '@azure/arm-containerservice',
      '@azure/arm-authorization',
      '@azure/arm-network',
    ])
      expect(sdk(loaded, name), name).toBe(false);
    expect(loaded).not.toContain('lib/http/openapi.ts');
    // Readiness, which the push path reads, asks ARM without the ARM SDK: not even a dynamic import of it.
    expect(loaded).toContain('lib/registry/readiness.ts');
    expect(metafile.inputs['lib/registry/readiness.ts']!.imports.map((imported) => imported.path)).not.toContainEqual(
      expect.stringContaining('@azure/arm-containerregistry'),
    );
  });
});
