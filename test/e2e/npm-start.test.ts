import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The quickstart's `npm start`, as a person runs it: the sandbox comes up, serves /api/health within 20 s,
 * writes sandbox.json, and stops cleanly on Ctrl-C (SIGINT) with exit code 0.
 */
describe('npm start', () => {
  it('serves /api/health within 20 s and shuts down cleanly on SIGINT', async () => {
    const sandboxDirectory = mkdtempSync(join(tmpdir(), 'sandbox-'));
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'dev/start.ts', '--in-memory', '--port', '0'], {
      env: { ...process.env, SANDBOX_DIR: sandboxDirectory, AzureWebJobsStorage: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('sandbox is running')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`npm start exited early (${code ?? 'null'}):\n${output}`)));
    });
    await ready;

    const sandbox = JSON.parse(readFileSync(join(sandboxDirectory, 'sandbox.json'), 'utf8')) as {
      host: { url: string; functionKey: string; adminPrincipal: string };
      storage: { connectionString: string };
      registries: Array<{
        name: string;
        loginServer: string;
        httpsUrl: string;
        pushAddress: string;
        username: string;
        password: string;
        caFile: string;
      }>;
      emulator: { controlUrl: string };
    };
    const health = await fetch(`${sandbox.host.url}/api/health`);
    const elapsed = Date.now() - started;
    // The details need the function key and a caller with Streaming.Read (issue #17 §4), both in sandbox.json.
    const details = await fetch(`${sandbox.host.url}/api/health/details`, {
      headers: { 'x-functions-key': sandbox.host.functionKey, 'x-ms-client-principal': sandbox.host.adminPrincipal },
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');

    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', version: expect.any(String) as unknown });
    expect(details.status).toBe(200);
    expect(await details.json()).toMatchObject({
      status: 'ok',
      dependencies: [
        { name: 'storage', status: 'up' },
        { name: 'registry:sandbox', status: 'up' },
      ],
      readiness: [{ registry: 'sandbox', ready: true, sku: 'Premium', customerManagedKey: false }],
    });
    expect(sandbox.registries).toEqual([
      expect.objectContaining({ name: 'sandbox', httpsUrl: `https://${sandbox.registries[0]!.loginServer}` }),
    ]);
    expect(sandbox.registries[0]!.pushAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(sandbox.registries[0]!.password.length).toBeGreaterThan(10);
    expect(readFileSync(sandbox.registries[0]!.caFile, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(sandbox.host.adminPrincipal.length).toBeGreaterThan(20);
    const registry = sandbox.registries[0]!;
    const catalog = await fetch(`http://${registry.pushAddress}/v2/_catalog`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`,
      },
    });
    expect(((await catalog.json()) as { repositories: string[] }).repositories).toEqual(
      expect.arrayContaining(['team-a/app', 'team-b/multi']),
    );
    expect(elapsed).toBeLessThan(20_000);
    expect(sandbox.host.functionKey.length).toBeGreaterThan(20);
    expect(sandbox.storage.connectionString).toContain('TableEndpoint=http://127.0.0.1:');
    expect(await exited).toBe(0);
    expect(output).toMatch(/SIGINT: stopping/);
  });

  it('refuses a bad configuration with one message listing every bad setting, and exits non-zero', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'dev/start.ts', '--in-memory', '--port', '0'], {
      env: {
        ...process.env,
        SANDBOX_DIR: mkdtempSync(join(tmpdir(), 'sandbox-')),
        STORAGE_PREFIX: 'Not_Valid',
        REGISTRIES: '[{"name":"x"}]',
        ARM_ENDPOINT: 'ftp://nope',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect(code).toBe(1);
    expect(stderr).toMatch(/Invalid configuration \(\d+ problems\)/);
    for (const setting of ['STORAGE_PREFIX', 'REGISTRIES.0.loginServer', 'REGISTRIES.0.resourceId', 'ARM_ENDPOINT'])
      expect(stderr).toContain(setting);
  });
});
