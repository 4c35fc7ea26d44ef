import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sandboxAdminPrincipal } from '../../dev/sandbox-file.js';
import { hostKeys, SandboxHarness, settled, type HostProcess } from '../support/sandbox-harness.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Compiles cli/ as `npm run build` does (tsconfig.build.json) into `outDir`, which gets a link to node_modules so
 * the build resolves its dependencies as an installed one does. Runs of the build start in a tenth of the time of
 * runs through tsx, which keeps this file's many child processes within its time budget.
 */
function buildCli(outDir: string): string {
  const config = ts.getParsedCommandLineOfConfigFile(
    'tsconfig.build.json',
    { outDir },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  )!;
  const program = ts.createProgram(['cli/main.ts'], { ...config.options, sourceMap: false });
  const result = program.emit();
  const errors = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (errors.length > 0)
    throw new Error(
      ts.formatDiagnostics(errors, { ...ts.sys, getCanonicalFileName: (f) => f, getNewLine: () => '\n' }),
    );
  return join(outDir, 'cli', 'main.js');
}

/**
 * The command-line client (cli/, issue #18 §1) against one sandbox, run as people run it: the build of cli/ in a
 * child process (and `bin/acr-streaming.js`, the `npx acr-streaming` entry, for one test), configured only by a
 * sandbox.json, as `npm start` writes one.
 */
describe.concurrent('acr-streaming CLI on the sandbox', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;
  let sandboxFile: string;
  let built: string;
  const digests: Record<string, string> = {};

  /** Runs the CLI with a clean environment: nothing but PATH, HOME and the sandbox file (plus `env`). */
  const cli = (args: readonly string[], env: Record<string, string> = {}, entry = built): Promise<Run> =>
    new Promise((done) => {
      execFile(
        process.execPath,
        [entry, ...args],
        {
          env: { PATH: process.env.PATH ?? '', HOME: sandbox.workDir, ACR_STREAMING_SANDBOX_FILE: sandboxFile, ...env },
          timeout: 60_000,
        },
        (error, stdout, stderr) =>
          done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });
  /** Runs a command that must succeed with --json and returns its parsed output. */
  const json = async <T>(args: readonly string[], env: Record<string, string> = {}): Promise<T> => {
    const run = await cli([...args, '--json'], env);
    expect(run.code, `${args.join(' ')}\n${run.stderr}`).toBe(0);
    return JSON.parse(run.stdout) as T;
  };

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({ storageConnectionString: inject('storageConnectionString') });
    host = await sandbox.startHost();
    await symlink(resolve('node_modules'), join(sandbox.workDir, 'node_modules'), 'dir');
    built = buildCli(join(sandbox.workDir, 'cli-build'));
    sandboxFile = join(sandbox.workDir, 'sandbox.json');
    await writeFile(
      sandboxFile,
      JSON.stringify({
        host: { url: host.url, functionKey: hostKeys.function, adminPrincipal: sandboxAdminPrincipal() },
        registries: [{ name: 'sandbox' }],
      }),
    );
    // Pushes alone convert nothing here, so every conversion below is one the CLI started.
    const policy = await sandbox.api(host, '/registries/sandbox/policies/cli/**', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'off', retry: { maxAttempts: 1 } }),
    });
    expect(policy.status).toBe(201);
    await sandbox.emulator.control.setStreamingBehaviour('sandbox', 'cli/broken', { outcome: 'UnknownError' });
    await sandbox.emulator.control.setStreamingBehaviour('sandbox', 'cli/slow', { durationMs: 120_000 });
    await Promise.all(
      ['cli/app', 'cli/broken', 'cli/slow'].map(async (repository) => {
        digests[repository] = await sandbox.push(repository, 'v1');
        await sandbox.waitForConversion(host, repository, digests[repository], settled);
      }),
    );
  });
  afterAll(() => sandbox.close());

  it('policy set creates, then replaces with the ETag it read, and get, list, patch, history, delete follow', async () => {
    const created = await cli(['policy', 'set', 'clip/team/**', '--data', '{"mode":"off","owners":["me"]}']);
    expect(created, created.stderr).toMatchObject({ code: 0 });
    expect(created.stdout).toMatch(/^created sandbox\/clip\/team\/\*\* \(etag .+\)/);

    const replaced = await cli(['policy', 'set', 'clip/team/**', '--data', '{"mode":"onPush","owners":["me"]}']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toMatch(/^replaced sandbox\/clip\/team\/\*\*/);
    expect(replaced.stdout).toContain('mode: "off" → "onPush"');

    const patched = await cli(['policy', 'patch', 'clip/team/**', '--data', '{"description":"team policy"}']);
    expect(patched.code, patched.stderr).toBe(0);
    expect(patched.stdout).toContain('description: "" → "team policy"');

    const got = await json<{ scope: string; etag: string; policy: { mode: string; description: string } }>([
      'policy',
      'get',
      'clip/team/**',
    ]);
    expect(got).toMatchObject({ scope: 'clip/team/**', policy: { mode: 'onPush', description: 'team policy' } });
    expect(got.etag).not.toBe('');

    const list = await cli(['policy', 'list']);
    const lines = list.stdout.trimEnd().split('\n');
    const row = lines.find((line) => line.startsWith('clip/team/**'))!;
    expect(lines[0]).toMatch(/^SCOPE +MODE +TAGS +OWNERS +UPDATED +BY$/);
    expect(row.indexOf('onPush')).toBe(lines[0]!.indexOf('MODE'));
    expect(row).toMatch(/ago|just now/);

    const history = await json<Array<{ action: string; outcome: string }>>(['policy', 'history', 'clip/team/**']);
    expect(history.map((entry) => `${entry.action} ${entry.outcome}`)).toEqual([
      'patch applied',
      'replace applied',
      'create applied',
    ]);
    const historyText = await cli(['policy', 'history', 'clip/team/**', '--limit', '1']);
    expect(historyText.stdout).toMatch(/WHEN +ACTION +OUTCOME +WHO +WHAT\n.*patch +applied +sandbox-admin/);

    const deleted = await cli(['policy', 'delete', 'clip/team/**']);
    expect(deleted).toMatchObject({ code: 0, stdout: 'deleted sandbox/clip/team/**\n' });
    const gone = await cli(['policy', 'get', 'clip/team/**']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/^error: 404.*: /);
  });

  it('policy set with a stale ETag exits 2 on the 412 and shows what changed since', async () => {
    await json(['policy', 'set', 'clip/stale/**', '--data', '{"mode":"off"}']);
    const { etag } = await json<{ etag: string }>(['policy', 'get', 'clip/stale/**']);
    await json(['policy', 'patch', 'clip/stale/**', '--data', '{"tags":{"include":["v*"]}}']);

    const stale = await cli(['policy', 'set', 'clip/stale/**', '--data', '{"mode":"onPush"}', '--if-match', etag]);
    const staleJson = await cli(['policy', 'patch', 'clip/stale/**', '--data', '{}', '--if-match', etag, '--json']);

    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(/^error: 412/);
    expect(stale.stderr).toContain('changed since it was read');
    expect(stale.stderr).toContain('Last change: patch by sandbox-admin@example.test');
    expect(stale.stderr).toContain('tags.include: ["*"] → ["v*"]');
    expect(stale.stderr).not.toMatch(/\n\s+at /);
    expect(staleJson.code).toBe(2);
    expect(JSON.parse(staleJson.stdout)).toMatchObject({
      status: 412,
      problem: { status: 412 },
      current: { scope: 'clip/stale/**', policy: { mode: 'off' } },
      changes: [{ path: 'tags.include', before: ['*'], after: ['v*'] }],
    });
    const unchanged = await json<{ policy: { mode: string } }>(['policy', 'get', 'clip/stale/**']);
    expect(unchanged.policy.mode).toBe('off');
  });

  it('policy evaluate says which scope decides', async () => {
    const answer = await json<{ decision: { eligible: boolean }; scope: string }>(['policy', 'evaluate', 'cli/app:v1']);
    const text = await cli(['policy', 'evaluate', 'cli/app:v1']);

    expect(answer).toMatchObject({ decision: { eligible: false }, scope: 'cli/**' });
    expect(text.stdout).toMatch(/^decision +skip\nreason +.*off/);
  });

  it('conversions start --wait follows a conversion to Succeeded (exit 0) and to Failed (exit 4)', async () => {
    const [succeeded, failed] = await Promise.all([
      cli(['conversions', 'start', 'cli/app:v1', '--wait', '--interval', '0.2']),
      cli(['conversions', 'start', `cli/broken@${digests['cli/broken']}`, '--wait', '--interval', '0.2', '--json']),
    ]);

    expect(succeeded.code, succeeded.stderr).toBe(0);
    expect(succeeded.stderr).toMatch(/cli\/app@sha256:[0-9a-f]{12}: (Pending|Running)/);
    expect(succeeded.stderr.trimEnd().split('\n').at(-1)).toMatch(/: Succeeded/);
    expect(succeeded.stdout).toMatch(/^image +sandbox\/cli\/app@sha256:/);
    expect(succeeded.stdout).toMatch(/\nstatus +Succeeded\n/);
    expect(failed.code).toBe(4);
    expect(JSON.parse(failed.stdout)).toMatchObject({ status: 'Failed', lastErrorCode: 'UNKNOWN_ERROR' });
    expect(failed.stderr).toMatch(/error: cli\/broken@sha256:[0-9a-f]{12} ended Failed/);

    const got = await json<{ status: string }>(['conversions', 'get', `cli/app@${digests['cli/app']}`]);
    const listed = await json<Array<{ digest: string; status: string }>>([
      'conversions',
      'list',
      '--repository',
      'cli/app',
    ]);
    const table = await cli(['conversions', 'list', '--status', 'Succeeded', '--since', '1h']);
    expect(got.status).toBe('Succeeded');
    // The list also has the streaming artifact ACR pushed as a referrer, skipped as such.
    expect(listed).toContainEqual(expect.objectContaining({ digest: digests['cli/app'], status: 'Succeeded' }));
    expect(table.stdout).toMatch(/^REPOSITORY +DIGEST +TAGS +STATUS +PROGRESS +UPDATED\ncli\/app +sha256:/);
  });

  it('conversions cancel stops a running conversion', async () => {
    const image = `cli/slow@${digests['cli/slow']}`;
    const started = await json<{ status: string }>(['conversions', 'start', image]);
    expect(['Pending', 'Running']).toContain(started.status);

    const canceled = await json<{ status: string; canceledBy: string }>(['conversions', 'cancel', image]);

    expect(canceled).toMatchObject({ status: 'Canceled', canceledBy: '00000000-0000-0000-0000-00000000ad01' });
  });

  it('audits run starts a run that audits list shows', async () => {
    const { runs } = await json<{ runs: Array<{ registry: string; runId: string }> }>(['audits', 'run']);
    const listed = await json<Array<{ runId: string }>>(['audits', 'list', '--count', '5']);
    const table = await cli(['audits', 'list']);

    expect(runs).toEqual([{ registry: 'sandbox', runId: expect.any(String) as string }]);
    expect(listed.map((run) => run.runId)).toContain(runs[0]!.runId);
    expect(table.stdout).toMatch(/^RUN +REGISTRY +STARTED +STATE +COUNTERS\n/);
  });

  it('reports run generates a report that reports latest serves and --open opens', async () => {
    const report = await json<{ id: string; registries: string[] }>(['reports', 'run', '--registry', 'sandbox']);
    const browser = join(sandbox.workDir, 'browser.sh');
    await writeFile(browser, '#!/bin/sh\ncp "$1" "$0.tmp" && mv "$0.tmp" "$0.seen"\n', { mode: 0o755 });

    const opened = await cli(['reports', 'latest', '--format', 'html', '--open'], { BROWSER: browser });
    const latest = await json<{ id?: string; generatedAt: string }>(['reports', 'latest']);

    expect(report.registries).toEqual(['sandbox']);
    expect(opened.code, opened.stderr).toBe(0);
    const file = /^opened (.+\.html)$/m.exec(opened.stdout)![1]!;
    expect(readFileSync(file, 'utf8')).toMatch(/^<!doctype html>/i);
    // The opener runs detached from the CLI; it renames its copy into place when done.
    await sandbox.eventually(() => Promise.resolve(existsSync(`${browser}.seen`) ? true : undefined), 10_000);
    expect(readFileSync(`${browser}.seen`, 'utf8')).toBe(readFileSync(file, 'utf8'));
    expect(latest.generatedAt).toEqual(expect.any(String));
  });

  it('alerts list shows the failed conversion alert and alerts resend queues it again', async () => {
    // The failure alert of the Failed conversion above travels through the outbox in the host; wait for it.
    const alert = await sandbox.eventually(async () => {
      const response = await sandbox.api(host, '/alerts');
      const { items } = (await response.json()) as { items: Array<{ id: string; type: string; status: string }> };
      return items.find((item) => item.type === 'conversion.failed' && item.status === 'delivered');
    });

    const listed = await json<Array<{ id: string }>>(['alerts', 'list', '--status', 'delivered']);
    const resent = await json<{ id: string; status: string; resentBy: string }>(['alerts', 'resend', alert.id]);

    expect(listed.map((item) => item.id)).toContain(alert.id);
    expect(resent).toMatchObject({ id: alert.id, status: 'pending', resentBy: '00000000-0000-0000-0000-00000000ad01' });
  });

  it('doctor prints the checklist and exits 6 (will not stream) or 7 (will not pull); --json as the API answers', async () => {
    const unconverted = await cli(['doctor', 'cli/broken:v1', '--no-color']);
    const missing = await cli(['doctor', 'cli/app:v9', '--json']);

    expect(unconverted.code, unconverted.stderr).toBe(6);
    expect(unconverted.stdout).toMatch(/^sandbox\/cli\/broken:v1@sha256:[0-9a-f]{64}: will-not-stream/);
    expect(unconverted.stdout).toMatch(/✓ The image exists \[image\.exists\]/);
    expect(unconverted.stdout).toMatch(/✗ The streaming artifact exists \[streaming\.artifact\]\n.*\n {4}fix: /);
    expect(unconverted.stdout).toMatch(/i Node-level logs \[note\.node-logs\]/);
    expect(missing.code, missing.stderr).toBe(7);
    const answer = JSON.parse(missing.stdout) as { summary: { verdict: string }; checks: { id: string }[] };
    expect(answer.summary.verdict).toBe('will-not-pull');
    expect(answer.checks.map((check) => check.id)).toContain('note.upgrade-if-streamable-disabled');
  });

  it('a 4xx exits 2 with the problem detail and field errors, never a stack (through the npx entry)', async () => {
    const refused = await cli(['alerts', 'resend', 'not-an-id'], {}, 'bin/acr-streaming.js');

    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^error: 400 .*: "not-an-id" is not an alert id\.\n {2}params\.id: expected/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });

  it('usage errors exit 1, an unreachable host exits 3, and --verbose never prints the key or principal', async () => {
    const unreachable = join(sandbox.workDir, 'unreachable.json');
    await writeFile(
      unreachable,
      JSON.stringify({ host: { url: 'http://127.0.0.1:1', functionKey: 'k', adminPrincipal: 'p' } }),
    );

    const [usage, missingArgument, down, verbose] = await Promise.all([
      cli(['conversions', 'get', 'cli/app:v1']),
      cli(['policy', 'set', 'x/**']),
      cli(['alerts', 'list'], { ACR_STREAMING_SANDBOX_FILE: unreachable }),
      cli(['policy', 'list', '--verbose']),
    ]);

    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain('give repository@sha256:');
    expect(missingArgument.code).toBe(1);
    expect(missingArgument.stderr).toContain('exactly one of --data or --file');
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/Could not reach http:\/\/127\.0\.0\.1:1/);
    expect(verbose.code).toBe(0);
    expect(verbose.stderr).toMatch(/→ GET http:\/\/127\.0\.0\.1:\d+\/api\/registries\/sandbox\/policies\n← 200/);
    for (const secret of [hostKeys.function, sandboxAdminPrincipal()])
      expect(verbose.stdout + verbose.stderr).not.toContain(secret);
  });
});
