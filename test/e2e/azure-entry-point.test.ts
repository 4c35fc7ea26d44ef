import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalog } from '../../functions/catalog.js';

/**
 * What the Azure Functions worker does with this app: build it, then import package.json's "main" as ESM.
 * Outside the worker @azure/functions runs in "test mode" and says, for each function, that it skipped the
 * registration — which proves every declaration reached `app.*` and nothing failed at module load.
 */
describe('Azure entry point', () => {
  it('builds, and its "main" imports and registers every function without doing I/O', () => {
    const outDir = mkdtempSync(join(tmpdir(), 'build-'));
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { main: string };
    execFileSync(
      process.execPath,
      ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', outDir],
      { stdio: 'pipe' },
    );
    writeFileSync(
      join(outDir, 'package.json'),
      JSON.stringify({ name: 'acr-streaming-autopilot', version: '0.0.0-test', type: 'module' }),
    );
    symlinkSync(resolve('node_modules'), join(outDir, 'node_modules'));

    const entry = join(outDir, manifest.main.replace(/^dist\//, ''));
    // No app settings at all: loading must not read configuration or touch storage.
    const run = spawnSync(process.execPath, [entry], { encoding: 'utf8', env: { PATH: process.env.PATH } });

    expect(run.status).toBe(0);
    for (const { name } of catalog) expect(run.stderr).toContain(`Skipping call to register function "${name}"`);
  });
});
