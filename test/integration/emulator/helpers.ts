import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EventSink, ManifestEvent } from '../../../dev/emulator/contract.js';
import { EmulatorControlClient } from '../../../dev/emulator/control-client.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../../dev/emulator/server.js';

const exec = promisify(execFile);

/** Stand-in for the Event Grid module: records events and lets tests await a matching one. */
export class RecordingEventSink implements EventSink {
  readonly events: ManifestEvent[] = [];
  #waiters: { match: (e: ManifestEvent) => boolean; resolve: (e: ManifestEvent) => void }[] = [];

  publish(event: ManifestEvent): void {
    this.events.push(event);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(event)) return true;
      w.resolve(event);
      return false;
    });
  }

  next(match: (e: ManifestEvent) => boolean): Promise<ManifestEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
}

export interface TestEmulator {
  readonly emulator: Emulator;
  readonly sink: RecordingEventSink;
  readonly control: EmulatorControlClient;
  readonly workDir: string;
}

/** Each test file gets its own emulator on ephemeral ports and its own CA directory. */
export async function startTestEmulator(
  options: Omit<EmulatorOptions, 'certDir' | 'eventSink'> = {},
): Promise<TestEmulator> {
  const workDir = await mkdtemp(join(tmpdir(), 'acr-emulator-test-'));
  const sink = new RecordingEventSink();
  const emulator = await startEmulator({ ...options, certDir: join(workDir, 'ca'), eventSink: sink });
  return { emulator, sink, control: new EmulatorControlClient(emulator.controlUrl), workDir };
}

export { writeOciLayout } from '../../../dev/oci-layout.js';

/** A directory skopeo's `--cert-dir` accepts (`*.crt` are CA certificates). */
export async function certDirFor(caFile: string, workDir: string): Promise<string> {
  const dir = join(workDir, 'skopeo-certs');
  await mkdir(dir, { recursive: true });
  await copyFile(caFile, join(dir, 'ca.crt'));
  return dir;
}

export async function skopeo(args: readonly string[], workDir: string): Promise<string> {
  // Own HOME/XDG dirs so the developer's auth.json and registries.conf never leak into the test.
  const env = { ...process.env, HOME: workDir, XDG_RUNTIME_DIR: workDir, XDG_CONFIG_HOME: workDir };
  const { stdout } = await exec('/usr/bin/skopeo', ['--insecure-policy', ...args], { env, timeout: 30_000 });
  return stdout;
}

/**
 * fetch over HTTPS trusting only the emulator CA, without NODE_EXTRA_CA_CERTS (undici dispatcher via node:https is not
 * available).
 */
export async function httpsRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; ca: string },
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers, ca: init.ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers))
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** ACR access token through the real flow (exchange → token), over the plain-HTTP listener. */
export async function acrAccessToken(
  registry: { pushAddress: string; loginServer: string },
  scopes: readonly string[],
): Promise<string> {
  const base = `http://${registry.pushAddress}`;
  const form = (fields: [string, string][]): string => new URLSearchParams(fields).toString();
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  const exchange = await fetch(`${base}/oauth2/exchange`, {
    method: 'POST',
    headers,
    body: form([
      ['grant_type', 'access_token'],
      ['service', registry.loginServer],
      ['access_token', 'aad-token'],
    ]),
  });
  const { refresh_token } = (await exchange.json()) as { refresh_token: string };
  const token = await fetch(`${base}/oauth2/token`, {
    method: 'POST',
    headers,
    body: form([
      ['grant_type', 'refresh_token'],
      ['service', registry.loginServer],
      ['refresh_token', refresh_token],
      ...scopes.map((s): [string, string] => ['scope', s]),
    ]),
  });
  return ((await token.json()) as { access_token: string }).access_token;
}
