import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sandboxAdminPrincipal } from '../../dev/sandbox-file.js';
import { clientPrincipal, readerPrincipal, writerPrincipal } from '../support/principals.js';
import {
  AppStorage,
  changes,
  fakeDigest,
  quietTimers,
  rawRequest,
  type RawRequest,
  type RawResponse,
} from '../support/hostile.js';
import { hostKeys, SandboxHarness, type HostProcess } from '../support/sandbox-harness.js';

/**
 * The HTTP routes other than policies (policy-fuzz.test.ts covers those) — conversions, alerts, audits, the OpenAPI
 * document and health — under hostile requests sent byte for byte: traversal and encoded separators in the path,
 * headers and query strings near Node's 16 KiB limit, bodies over the 64 KiB cap, bad JSON, wrong content types,
 * forged principals, random continuation tokens and names. Never a 5xx; a refused request writes nothing.
 */
// No shrinking: the system under test keeps state, so a shrunk replay would not show the first failure.
const runs = { seed: 20_261_211, numRuns: 220, endOnFailure: true };
/** Node's default limit for the request line and headers together. */
const maxHeaderBytes = 16 * 1024;
const maxJsonBody = 64 * 1024;

interface Route {
  readonly name: string;
  readonly method: 'GET' | 'POST';
  /** Path under /api with `{registry}`, `{digest}`, `{id}` placeholders. */
  readonly template: string;
}

const routes: readonly Route[] = [
  { name: 'health', method: 'GET', template: '/health' },
  { name: 'openApi', method: 'GET', template: '/openapi.json' },
  { name: 'listConversions', method: 'GET', template: '/registries/{registry}/conversions' },
  { name: 'startConversion', method: 'POST', template: '/registries/{registry}/conversions' },
  { name: 'getConversion', method: 'GET', template: '/registries/{registry}/conversions/{digest}' },
  { name: 'cancelConversion', method: 'POST', template: '/registries/{registry}/conversions/{digest}/cancel' },
  { name: 'listAlerts', method: 'GET', template: '/alerts' },
  { name: 'resendAlert', method: 'POST', template: '/alerts/{id}/resend' },
  { name: 'listAudits', method: 'GET', template: '/audits' },
  { name: 'createAudit', method: 'POST', template: '/audits' },
];

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  maxLength: 60,
});
const encoded = (text: string): string => encodeURIComponent(text);

/** Path segments as sent: raw traversal, encoded separators and dots, unicode, overlong. */
const segmentJunk = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '%2E%2E',
    '%2F',
    '%2f..%2f',
    '..%2F..%2Fadmin',
    '%5C',
    '%00',
    '%',
    '%zz',
    'a%2Fb',
    '',
    '~',
    '%252F',
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).map(encoded),
  fc.integer({ min: 100, max: 2_000 }).map((length) => 'p'.repeat(length)),
);
const registryArb = fc.oneof(
  { arbitrary: fc.constant('sandbox'), weight: 6 },
  fc.constantFrom('nosuch', 'SANDBOX', 'sandbox2', 'a', 's'.repeat(51)),
  segmentJunk,
);
const digestArb = fc.oneof(
  { arbitrary: fc.nat().map(fakeDigest), weight: 4 },
  fc.constantFrom('sha256:', `sha256:${'A'.repeat(64)}`, `sha256%3A${'a'.repeat(64)}`),
  segmentJunk,
);
const idArb = fc.oneof(
  { arbitrary: fc.stringMatching(/^[a-f0-9]{32}$/).map((key) => `sandbox-webhook.${key}`), weight: 3 },
  fc.constantFrom('sandbox-webhook.', 'x.y', `${'c'.repeat(65)}.${'a'.repeat(32)}`),
  segmentJunk,
);

/** Continuation tokens: the Table SDK's shape with hostile keys, base64 of anything, not base64. */
const continuationArb = fc.oneof(
  fc
    .record(
      {
        nextPartitionKey: fc.oneof(
          fc.constantFrom('sandbox', "o'q", 'a/b', '', 'd:x', '\u0000'),
          fc.string({ maxLength: 40 }),
        ),
        nextRowKey: fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null)),
      },
      { requiredKeys: [] },
    )
    .map((keys) => Buffer.from(JSON.stringify(keys), 'latin1').toString('base64')),
  fc.jsonValue({ maxDepth: 2 }).map((value) => Buffer.from(JSON.stringify(value)).toString('base64')),
  fc.string({ maxLength: 100 }),
  fc.integer({ min: 2_000, max: 2_100 }).map((length) => 'A'.repeat(length)),
);

/** Query strings: the routes' parameters with right and wrong values, unknown ones, duplicates, ~12 KB. */
const queryArb = fc
  .record(
    {
      repository: fc.oneof(
        fc.constantFrom('team-a/app', 'hostile/nowhere', 'Team-A/App', '../x', 'a//b', ''),
        fc.string({ unit: 'grapheme', maxLength: 30 }),
      ),
      continuationToken: continuationArb,
      pageSize: fc.oneof(fc.integer({ min: -5, max: 2_000 }).map(String), printable),
      status: fc.oneof(fc.constantFrom('Succeeded', 'failed', 'pending', 'delivered'), printable),
      since: fc.oneof(
        fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
        printable,
      ),
      channel: fc.oneof(fc.constantFrom('sandbox-webhook', 'a/b'), printable),
      registry: registryArb.map((value) => decodeURIComponent(value.replace(/%(?![0-9a-f]{2})/gi, '%25'))),
      count: fc.oneof(fc.integer({ min: -1, max: 200 }).map(String), printable),
      code: fc.constantFrom('wrong', ''),
      unknown: printable,
      // Rare: a URL over Azure's 4 KB is refused (414) before any route sees it.
      huge: fc.oneof(
        { arbitrary: fc.integer({ min: 1, max: 40 }).map((length) => 'q'.repeat(length)), weight: 5 },
        { arbitrary: fc.integer({ min: 8_000, max: 12_000 }).map((length) => 'q'.repeat(length)), weight: 1 },
      ),
    },
    { requiredKeys: [] },
  )
  .map((query) =>
    Object.entries(query)
      .map(([name, value]) => `${name}=${encoded(value)}`)
      .join('&'),
  );

const principalArb = fc.oneof(
  { arbitrary: fc.constant(sandboxAdminPrincipal()), weight: 5 },
  fc.constant(readerPrincipal()),
  fc.constant(writerPrincipal()),
  fc.constant(undefined),
  printable,
  fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value)).toString('base64')),
  fc
    .record({
      objectId: fc.string({ maxLength: 40 }),
      roles: fc.array(fc.constantFrom('Streaming.Admin ', 'streaming.admin', 'Owner', 'Streaming.Write'), {
        maxLength: 3,
      }),
    })
    .map((spec) => clientPrincipal(spec)),
  // Just under the principal reader's 16 384-character cap, with the admin role: refused, never a crash.
  fc.constant(clientPrincipal({ objectId: 'o', name: 'n'.repeat(12_100), roles: ['Streaming.Admin'] })),
);

const bodyArb = fc.oneof(
  {
    arbitrary: fc
      .record({
        repository: fc.constantFrom('hostile/nowhere', 'team-a/nothing-here'),
        digest: fc.nat().map(fakeDigest),
      })
      .map((value) => JSON.stringify(value)),
    weight: 3,
  },
  fc
    .record(
      {
        repository: fc.string({ maxLength: 20 }),
        tag: fc.string({ maxLength: 20 }),
        digest: fc.string({ maxLength: 20 }),
        force: fc.jsonValue(),
        registry: fc.oneof(fc.constantFrom('nosuch', 'SANDBOX'), fc.string({ maxLength: 10 })),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  fc.constantFrom('', '{', 'null', '[]', '{"repository":"x","__proto__":{"tag":"v1"}}', '\uFEFF{}'),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc
    .integer({ min: 1, max: 4_096 })
    .map((extra) => JSON.stringify({ repository: 'hostile/nowhere', tag: 'v1', pad: 'x'.repeat(maxJsonBody + extra) })),
  fc.integer({ min: 1_000, max: 50_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
);
const contentTypeArb = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 4 },
  fc.constantFrom(
    'text/plain',
    'application/jsonx',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=utf-16',
    '',
  ),
  fc.constant(undefined),
  printable,
);
const keyArb = fc.oneof(
  { arbitrary: fc.constant<string | undefined>(hostKeys.function), weight: 8 },
  fc.constantFrom<string | undefined>(
    undefined,
    '',
    'wrong',
    hostKeys.eventGrid,
    hostKeys.function.toUpperCase(),
    `${hostKeys.function} `,
  ),
);
/** A padding header that, with everything else, stays under or just over the 16 KiB limit. */
const paddingArb = fc.oneof(
  { arbitrary: fc.constant(0), weight: 6 },
  fc.integer({ min: 12_000, max: maxHeaderBytes - 600 }),
);

/** The request line and headers as sent, roughly (names, values, separators). */
function headerBytes(request: RawRequest): number {
  return (
    request.method.length +
    request.path.length +
    12 +
    Object.entries(request.headers ?? {}).reduce(
      (sum, [name, value]) => sum + (value === undefined ? 0 : name.length + value.length + 4),
      0,
    )
  );
}

interface Generated {
  readonly route: Route;
  readonly registry: string;
  readonly digest: string;
  readonly id: string;
  readonly query: string | undefined;
  readonly principal: string | undefined;
  readonly body: string | undefined;
  readonly contentType: string | undefined;
  readonly key: string | undefined;
  readonly padding: number;
}

const requestArb: fc.Arbitrary<Generated> = fc.record({
  route: fc.constantFrom(...routes),
  registry: registryArb,
  digest: digestArb,
  id: idArb,
  query: fc.option(queryArb, { nil: undefined }),
  principal: principalArb,
  body: fc.option(bodyArb, { nil: undefined, freq: 4 }),
  contentType: contentTypeArb,
  key: keyArb,
  padding: paddingArb,
});

/** createAudit without a body or registry is a legitimate "audit every registry": make it name no registry we have. */
function neverAuditForReal(generated: Generated): string | undefined {
  if (generated.route.name !== 'createAudit') return generated.body;
  if (generated.body === undefined || generated.body === '') return JSON.stringify({ registry: 'nosuch' });
  let parsed: unknown;
  try {
    parsed = JSON.parse(generated.body ?? '');
  } catch {
    return generated.body;
  }
  const registry = (parsed as { registry?: unknown } | null)?.registry;
  return typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    (registry === undefined || registry === 'sandbox')
    ? JSON.stringify({ ...parsed, registry: 'nosuch' })
    : generated.body;
}

function toRequest(generated: Generated): RawRequest {
  const path = generated.route.template
    .replace('{registry}', generated.registry)
    .replace('{digest}', generated.digest)
    .replace('{id}', generated.id);
  const body = generated.route.method === 'POST' ? neverAuditForReal(generated) : undefined;
  return {
    method: generated.route.method,
    path: `/api${path}${generated.query === undefined ? '' : `?${generated.query}`}`,
    headers: {
      'x-functions-key': generated.key,
      'x-ms-client-principal': generated.principal,
      'content-type': body === undefined ? undefined : generated.contentType,
      'x-padding': generated.padding > 0 ? 'z'.repeat(generated.padding) : undefined,
    },
    ...(body === undefined ? {} : { body }),
  };
}

describe('HTTP API (conversions, alerts, audits, OpenAPI, health) under hostile requests', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;
  let storage: AppStorage;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      settings: quietTimers,
    });
    host = await sandbox.startHost({ subscribe: false });
    storage = new AppStorage(inject('storageConnectionString'), sandbox.settings.STORAGE_PREFIX!);
    await storage.settle();
  });
  afterAll(() => sandbox.close());

  /** Sends one request; asserts no 5xx, a problem document on refusals, and no write unless it was accepted. */
  async function send(
    request: RawRequest,
    accepted: (response: RawResponse) => boolean = () => false,
  ): Promise<RawResponse> {
    const before = await storage.snapshot();
    const response = await rawRequest(host.url, request).catch((error: NodeJS.ErrnoException): RawResponse => {
      // Over the header limit the server answers 431 and closes at once; a client still sending its body sees a reset.
      if ((error.code === 'ECONNRESET' || error.code === 'EPIPE') && headerBytes(request) > maxHeaderBytes)
        return { status: 431, headers: {}, text: '' };
      throw error;
    });
    const what = `${request.method} ${request.path.slice(0, 200)} [${Object.entries(request.headers ?? {})
      .map(([name, value]) => `${name}:${(value ?? '-').length}`)
      .join(' ')}] → ${response.status} ${response.text.slice(0, 300)}`;
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);

    expect(response.status, what).toBeLessThan(500);
    if (response.status >= 400 && response.status !== 431)
      expect(response.headers['content-type'], what).toBe('application/problem+json');
    if (request.method === 'POST')
      expect(response.status, `a hostile POST was accepted: ${what}`).toBeGreaterThanOrEqual(400);
    if (!accepted(response)) expect(changes(before, await storage.snapshot()), what).toEqual([]);
    return response;
  }

  it('never answers a 5xx and never writes, whatever the path, headers, query or body', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, async (generated) => void (await send(toRequest(generated)))),
      runs,
    );

    console.info(
      `hostile HTTP statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`,
    );
    // 414: URLs over Azure's 4 KB (the generator's long segments and its rare huge query).
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([200, 400, 401, 403, 404, 413, 414, 415, 431]));
  });

  it('refuses JSON bodies over 64 KiB with 413, even from an admin', async () => {
    for (const path of ['/api/registries/sandbox/conversions', '/api/audits']) {
      const body = JSON.stringify({ repository: 'team-a/app', tag: 'v1', pad: 'x'.repeat(maxJsonBody) });
      const response = await send({
        method: 'POST',
        path,
        headers: {
          'x-functions-key': hostKeys.function,
          'x-ms-client-principal': sandboxAdminPrincipal(),
          'content-type': 'application/json',
        },
        body,
      });

      expect(response.status, path).toBe(413);
    }
  });

  it('refuses bodies that are not JSON with 415, even from an admin', async () => {
    for (const path of ['/api/registries/sandbox/conversions', '/api/audits']) {
      for (const type of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        undefined,
      ]) {
        const response = await send({
          method: 'POST',
          path,
          headers: {
            'x-functions-key': hostKeys.function,
            'x-ms-client-principal': sandboxAdminPrincipal(),
            'content-type': type,
          },
          body: JSON.stringify({ repository: 'team-a/app', tag: 'v1' }),
        });

        expect(response.status, `${path} ${type ?? '(none)'}`).toBe(415);
      }
    }
  });

  it('does not reach the admin API or another route through traversal or encoded separators', async () => {
    const paths = [
      '/api/../admin/functions/startAudits',
      '/api/%2e%2e/admin/functions/startAudits',
      '/api/..%2F..%2Fadmin/functions/startAudits',
      '/api/registries/sandbox/conversions/..%2F..%2F..%2Fadmin%2Ffunctions%2FstartAudits/cancel',
      '/api/registries/sandbox/conversions/%2e%2e/cancel?repository=team-a/app',
      '/api/alerts/..%2F..%2Fadmin%2Ffunctions%2FstartAudits/resend',
      '/api/health/../../admin/functions/startAudits',
      '/%2e%2e/admin/functions/startAudits',
      '/api/registries/sandbox%2Fconversions',
      '/api/audits/%2e%2e',
      '//api//audits',
    ];
    for (const path of paths) {
      const response = await send({
        method: 'POST',
        path,
        headers: {
          'x-functions-key': hostKeys.function,
          'x-ms-client-principal': sandboxAdminPrincipal(),
          'content-type': 'application/json',
        },
        body: '{"registry":"nosuch"}',
      });

      expect([400, 401, 404, 405], `${path} → ${response.status} ${response.text}`).toContain(response.status);
      if (response.status === 401) expect(response.text, path).toMatch(/master key/);
    }
  });

  it('serves GET routes with a header just under 16 KiB, and answers 431 just over it', async () => {
    for (const route of routes.filter((candidate) => candidate.method === 'GET')) {
      const query =
        route.name === 'listAudits'
          ? '?registry=sandbox'
          : route.name === 'getConversion'
            ? '?repository=team-a/app'
            : '';
      const path = `/api${route.template.replace('{registry}', 'sandbox').replace('{digest}', fakeDigest(7))}${query}`;
      const headers = { 'x-functions-key': hostKeys.function, 'x-ms-client-principal': sandboxAdminPrincipal() };
      const used =
        path.length +
        Object.entries(headers).reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0) +
        200;
      const under = await send({
        method: 'GET',
        path,
        headers: { ...headers, 'x-padding': 'z'.repeat(maxHeaderBytes - used - 600) },
      });
      const over = await send({
        method: 'GET',
        path,
        headers: { ...headers, 'x-padding': 'z'.repeat(maxHeaderBytes) },
      });

      expect(under.status, route.name).toBe(route.name === 'getConversion' ? 404 : 200);
      expect(over.status, route.name).toBe(431);
      // Like every other refusal of the host, not Node's bare status line (issue #17 §3).
      expect(over.headers['content-type'], route.name).toBe('application/problem+json');
    }
  });

  it('keeps the host process alive, with no unhandled error in its log', () => {
    expect(host.child.exitCode).toBeNull();
    expect(host.child.signalCode).toBeNull();
    expect(host.output()).not.toMatch(/unhandled error|request failed:|Executed with error/);
  });
});
