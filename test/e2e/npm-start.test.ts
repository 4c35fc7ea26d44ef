import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
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
    const stopping = Date.now();
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
    expect(Date.now() - stopping).toBeLessThan(10_000);
    expect(output).toMatch(/SIGINT: stopping/);
    await expect(fetch(sandbox.host.url)).rejects.toThrow();
  });

  /** Starts the sandbox as `npm start` does and resolves once its banner printed. */
  async function startSandbox(
    args: readonly string[] = ['--in-memory', '--port', '0'],
    directory = mkdtempSync(join(tmpdir(), 'sandbox-')),
  ): Promise<{ child: ChildProcessWithoutNullStreams; output: () => string; directory: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'dev/start.ts', ...args], {
      env: { ...process.env, SANDBOX_DIR: directory, AzureWebJobsStorage: '' },
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ctrl-C stops it all')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`npm start exited early (${code ?? 'null'}):\n${output}`)));
    });
    return { child, output: () => output, directory };
  }

  /** GET with the sandbox CA for https URLs; the status only. */
  function statusOf(url: string, ca: string): Promise<number> {
    if (url.startsWith('http:')) return fetch(url).then((response) => response.status);
    return new Promise((resolve, reject) => {
      httpsRequest(url, { ca }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
  }

  // SIGINT is the first test's (Ctrl-C); SIGTERM here, with everything a first look at the sandbox meets.
  it.each(['SIGTERM'] as const)(
    'issue #18 § 4: every banner URL answers, the seed is decided, and %s to its pid stops everything within 10 s',
    async (signal) => {
      const { child, output, directory } = await startSandbox();
      const sandbox = JSON.parse(readFileSync(join(directory, 'sandbox.json'), 'utf8')) as {
        host: { url: string; functionKey: string; adminPrincipal: string };
        emulator: { controlUrl: string; caFile: string };
      };
      const printed = output();
      const banner = printed.slice(printed.indexOf('sandbox is running'), printed.indexOf('Ctrl-C stops it all'));
      const urls = [...new Set(banner.match(/https?:\/\/[^\s),]+/g) ?? [])];
      const ca = readFileSync(sandbox.emulator.caFile, 'utf8');
      const statuses = await Promise.all(urls.map(async (url) => [url, await statusOf(url, ca)] as const));
      // The seed's pushes reached the app through Event Grid before the banner printed.
      const conversions = await fetch(`${sandbox.host.url}/api/registries/sandbox/conversions`, {
        headers: { 'x-functions-key': sandbox.host.functionKey, 'x-ms-client-principal': sandbox.host.adminPrincipal },
      });
      const rows = ((await conversions.json()) as { items: Array<{ repository: string; status: string }> }).items;

      const stopped = Date.now();
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill(signal);
      const code = await exited;
      const elapsed = Date.now() - stopped;
      const afterwards = await Promise.all(
        [sandbox.host.url, sandbox.emulator.controlUrl].map((url) =>
          fetch(url).then(
            () => 'answering',
            () => 'closed',
          ),
        ),
      );

      expect(urls.length).toBeGreaterThanOrEqual(4);
      for (const [url, status] of statuses) expect(status, url).not.toBe(404);
      for (const [url, status] of statuses) expect(status, url).toBeLessThan(500);
      expect(rows.map((row) => row.repository)).toEqual(expect.arrayContaining(['team-a/app', 'team-b/windows']));
      expect(rows.find((row) => row.repository === 'team-b/windows')).toMatchObject({ status: 'Skipped' });
      expect(code).toBe(0);
      expect(elapsed).toBeLessThan(10_000);
      expect(afterwards).toEqual(['closed', 'closed']);
    },
    60_000,
  );

  it('issue #18 § 4: a restart starts the app storage over with the in-memory registry (no rows for lost images)', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'sandbox-'));
    const listed = async (): Promise<string[]> => {
      const sandbox = JSON.parse(readFileSync(join(directory, 'sandbox.json'), 'utf8')) as {
        host: { url: string; functionKey: string; adminPrincipal: string };
      };
      const response = await fetch(`${sandbox.host.url}/api/registries/sandbox/conversions?repository=team-z/gone`, {
        headers: { 'x-functions-key': sandbox.host.functionKey, 'x-ms-client-principal': sandbox.host.adminPrincipal },
      });
      return ((await response.json()) as { items: Array<{ digest: string }> }).items.map((row) => row.digest);
    };
    const stop = async (child: ChildProcessWithoutNullStreams): Promise<void> => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    };

    // Persistent storage (no --in-memory): the case where a table could outlive the registry's content.
    const first = await startSandbox(['--port', '0'], directory);
    const pushed = spawnSync('npm', ['run', '--silent', 'sandbox:push', '--', 'team-z/gone:v1'], {
      env: { ...process.env, SANDBOX_DIR: directory },
      encoding: 'utf8',
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    for (let tries = 0; (await listed()).length === 0 && tries < 100; tries++) await delay(100);
    const before = await listed();
    await stop(first.child);
    const second = await startSandbox(['--port', '0'], directory);
    const after = await listed();
    await stop(second.child);

    expect(before).toEqual([pushed.stdout.trim()]);
    expect(after).toEqual([]);
  }, 90_000);

  it('issue #18 § 4: a host port in use is one line and a suggestion, not a stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const child = spawn(process.execPath, ['--import', 'tsx', 'dev/start.ts', '--in-memory', '--port', String(port)], {
      env: { ...process.env, SANDBOX_DIR: mkdtempSync(join(tmpdir(), 'sandbox-')), AzureWebJobsStorage: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    taken.close();

    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      `Port ${port} is already in use (another sandbox?); start on another: npm start -- --port ${port + 1}`,
    ]);
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
