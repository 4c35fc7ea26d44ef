import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { SeededManifest } from '../../../dev/emulator/control.js';
import type { StartedRegistry } from '../../../dev/emulator/server.js';
import { acrAccessToken, httpsRequest, startTestEmulator, type TestEmulator } from './helpers.js';

/**
 * Replays every exchange of the recorded CLI session (test/fixtures/reference/acr-streaming-transcript.json) against
 * the emulator, with the repository, digest, login server and operation ids rewritten, and compares status,
 * headers of note and body shapes.
 */
const exchangeSchema = z.object({
  method: z.string(),
  path: z.string(),
  query: z.string().nullable(),
  requestContentType: z.string().nullable(),
  requestBody: z.record(z.string(), z.unknown()).nullable(),
  status: z.number(),
  responseHeaders: z.record(z.string(), z.string()),
  responseBody: z.unknown(),
});
const transcript = z
  .object({ exchanges: z.array(exchangeSchema) })
  .parse(
    JSON.parse(
      readFileSync(new URL('../../fixtures/reference/acr-streaming-transcript.json', import.meta.url), 'utf8'),
    ),
  );

const RECORDED_REPO = 'microsoft';
const RECORDED_DIGEST = 'sha256:622731d3e3a16b11a1f318b1c5018d0c44996b4c096b864fe2eac5b8beab535a';
const RECORDED_LOGIN = /clireg[a-z0-9]+\.azurecr\.io/g;
const NOTED_HEADERS = [
  'operation-id',
  'location',
  'operation-location',
  'oci-filters-applied',
  'www-authenticate',
  'content-type',
];
/** Values that differ per run: compared by type only. */
const DYNAMIC_KEYS = new Set(['refresh_token', 'access_token', 'createdTime', 'lastUpdateTime', 'startTime', 'id']);

function expectShape(expected: unknown, actual: unknown, path: string): void {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    expect(actual, path).toBeTypeOf('object');
    expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [key, value] of Object.entries(expected)) {
      const child = (actual as Record<string, unknown>)[key];
      if (DYNAMIC_KEYS.has(key)) expect(typeof child, `${path}.${key}`).toBe(typeof value);
      else expectShape(value, child, `${path}.${key}`);
    }
    return;
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), path).toBe(true);
    expect((actual as unknown[]).length, path).toBe(expected.length);
    expected.forEach((value, i) => expectShape(value, (actual as unknown[])[i], `${path}[${i}]`));
    return;
  }
  expect(actual, path).toEqual(expected);
}

describe('replay of the recorded az acr artifact-streaming session', () => {
  let t: TestEmulator;
  let registry: StartedRegistry;
  let ca: string;
  let image: SeededManifest;
  const repo = 'team-a/app';

  beforeAll(async () => {
    t = await startTestEmulator({ registries: [{ name: 'sandbox' }] });
    registry = t.emulator.registry('sandbox');
    ca = readFileSync(registry.caFile, 'utf8');
    image = await t.control.seedImage('sandbox', {
      kind: 'image',
      repository: repo,
      tag: 'azure-cli',
      platform: 'linux/amd64',
    });
    // Long enough that the cancel lands at 1% like the recording.
    await t.control.setStreamingBehaviour('sandbox', repo, { startDelayMs: 1_000, durationMs: 600_000 });
  });
  afterAll(async () => {
    await t.emulator.close();
  });

  it('answers every exchange like ACR did', async () => {
    const ids = new Map<string, string>(); // recorded operation id → emulator id
    let refreshToken = '';
    const rewrite = (text: string): string => {
      let out = text
        .replaceAll(`/${RECORDED_REPO}/`, `/${repo}/`)
        .replaceAll(`"${RECORDED_REPO}"`, `"${repo}"`)
        .replaceAll(`:${RECORDED_REPO}:`, `:${repo}:`);
      out = out
        .replaceAll(RECORDED_DIGEST, image.digest)
        .replaceAll('aaa@foo.com256:' + RECORDED_DIGEST.slice(7), `${repo}@${image.digest}`);
      out = out.replace(RECORDED_LOGIN, registry.loginServer);
      for (const [recorded, actual] of ids) out = out.replaceAll(recorded, actual);
      return out;
    };
    const rewriteJson = (value: unknown): unknown => JSON.parse(rewrite(JSON.stringify(value))) as unknown;

    for (const [index, exchange] of transcript.exchanges.entries()) {
      const label = `#${index} ${exchange.method} ${exchange.path}`;
      const path = rewrite(exchange.path);
      const headers: Record<string, string> = {};
      let body: string | undefined;
      if (exchange.requestContentType === 'application/x-www-form-urlencoded' && exchange.requestBody) {
        const form = Object.fromEntries(Object.entries(exchange.requestBody).map(([k, v]) => [k, rewrite(String(v))]));
        form.service = registry.loginServer;
        delete form.tenant; // optional; the JS SDK omits it too
        if ('access_token' in form) form.access_token = 'aad-token';
        if ('refresh_token' in form) form.refresh_token = refreshToken;
        if (form.grant_type === 'password')
          Object.assign(form, { username: registry.username, password: registry.password });
        body = new URLSearchParams(form).toString();
        headers['content-type'] = exchange.requestContentType;
      } else if (exchange.requestBody) {
        body = JSON.stringify(exchange.requestBody);
        headers['content-type'] = 'application/json';
      }
      if (index > 0 && !path.startsWith('/oauth2/')) {
        const scope = path.includes('/_tags/') ? 'metadata_read' : exchange.method === 'POST' ? 'pull,push' : 'pull';
        headers.authorization = `Bearer ${await acrAccessToken(registry, [`repository:${repo}:${scope}`])}`;
      }
      // The recording saw the conversion Running on this poll; our worker starts after startDelayMs.
      if (
        exchange.method === 'GET' &&
        path.includes('/_streaming/') &&
        (exchange.responseBody as { status?: string } | null)?.status === 'Running'
      ) {
        await t.control.advanceClock(2_000);
      }

      const url = `${registry.httpsUrl}${path}${exchange.query ? `?${exchange.query}` : ''}`;
      const response = await httpsRequest(url, {
        method: exchange.method,
        headers,
        ...(body === undefined ? {} : { body }),
        ca,
      });
      const json: unknown = response.body.length > 0 ? JSON.parse(response.body.toString('utf8')) : undefined;

      expect(response.status, label).toBe(exchange.status);
      // Capture ids the later exchanges refer to.
      const recordedId = exchange.responseHeaders['operation-id'];
      const actualId = response.headers['operation-id'];
      if (recordedId !== undefined && actualId !== undefined) ids.set(recordedId, actualId);
      if (path === '/oauth2/exchange') refreshToken = (json as { refresh_token: string }).refresh_token;

      for (const name of NOTED_HEADERS) {
        const recorded = exchange.responseHeaders[name];
        if (recorded === undefined) continue;
        let expected = rewrite(recorded);
        if (name === 'www-authenticate')
          expected = expected.replace(/https:\/\/[^/]+\//, `https://${registry.loginServer}/`);
        expect(response.headers[name], `${label} header ${name}`).toBe(expected);
      }
      expectShape(rewriteJson(exchange.responseBody), json, label);
    }
    expect(ids.size).toBe(2);
  });
});
