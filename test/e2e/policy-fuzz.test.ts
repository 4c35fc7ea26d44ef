import { TableClient } from '@azure/data-tables';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sandboxAdminPrincipal } from '../../dev/sandbox-file.js';
import type { PolicyHistoryEntry } from '../../lib/policy/ports.js';
import { scopeKey } from '../../lib/policy/scope.js';
import { clientPrincipal, readerPrincipal, writerPrincipal } from '../support/principals.js';
import { hostKeys, SandboxHarness, type HostProcess } from '../support/sandbox-harness.js';

/** Policies that exist before each run (re-created when a run deleted one), owned by `owner`. */
const owner = '00000000-0000-0000-0000-0000000000f1';
const seeds = ['_default', 'fuzz/app', 'fuzz/**', 'fuzz/?x'];
const staleEtag = `W/"datetime'2000-01-01T00%3A00%3A00.0000000Z'"`;
const runs = { seed: 20_261_123, numRuns: 150 };

interface Snapshot {
  readonly policies: ReadonlyMap<string, string>;
  readonly history: ReadonlyMap<string, string>;
}

interface Attempt {
  readonly method: 'PUT' | 'PATCH' | 'DELETE' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  maxLength: 80,
});

/** Caller identities, from real roles to forgeries the host still passes through (it trusts the header here). */
const principal = fc.oneof(
  { arbitrary: fc.constant(sandboxAdminPrincipal()), weight: 5 },
  { arbitrary: fc.constant(writerPrincipal(owner, 'fuzz-owner@example.test')), weight: 4 },
  fc.constant(writerPrincipal()),
  fc.constant(readerPrincipal()),
  fc.constant(undefined),
  printable,
  fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value)).toString('base64')),
  fc
    .record({
      objectId: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
      name: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
      roles: fc.array(
        fc.constantFrom('Streaming.Read', 'Streaming.Write', 'streaming.admin', 'Streaming.Admin ', 'Owner', ''),
        { maxLength: 3 },
      ),
    })
    .map((spec) =>
      clientPrincipal({
        ...(spec.objectId === undefined ? {} : { objectId: spec.objectId }),
        ...(spec.name === undefined ? {} : { name: spec.name }),
        roles: spec.roles,
      }),
    ),
  // Over Node's 16 KiB header limit: the host answers 431 before any function runs.
  {
    arbitrary: fc.constant(clientPrincipal({ objectId: 'x', name: 'y'.repeat(20_000), roles: ['Streaming.Admin'] })),
    weight: 1,
  },
);

/** Scope text: existing and plausible scopes, traversal and encoded separators, unicode, and very long ones. */
const scope = fc.oneof(
  { arbitrary: fc.constantFrom(...seeds), weight: 4 },
  { arbitrary: fc.constantFrom('fuzz/new', 'fuzz/*', 'fuzz/[ab]', 'fuzz/{a,b}/x', 'team-z/app'), weight: 2 },
  { arbitrary: fc.nat(1_000_000).map((n) => `fuzz/n${n}`), weight: 2 },
  fc
    .array(
      fc.constantFrom(
        'fuzz',
        'app',
        '..',
        '.',
        '%2F',
        '%2e%2e',
        '%2f..%2f',
        '**',
        '*',
        '?',
        '[',
        ']',
        '{',
        '}',
        'é',
        '😀',
        'A',
        '-',
        '%',
        '%00',
        '',
        '~',
        '|',
        '#',
      ),
      { minLength: 1, maxLength: 8 },
    )
    .map((parts) => parts.join('/')),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(...'abz09-_./*?[]{},!'.split('')), maxLength: 60 }),
  fc.integer({ min: 250, max: 3_000 }).map((length) => `fuzz/${'a'.repeat(length)}`),
);

/** How the scope goes into the URL: percent-encoded per segment, or raw (so `?`, `#`, `%` and `..` act on the URL). */
const scopePath = fc
  .tuple(scope, fc.boolean())
  .map(([text, encode]) => ({ text, path: encode ? text.split('/').map(encodeURIComponent).join('/') : text }));

const registry = fc.oneof(
  { arbitrary: fc.constant('sandbox'), weight: 8 },
  fc.constantFrom('nosuch', 'SANDBOX', 'a', 'sandbox%00', 'sändbox', 'x'.repeat(60)),
);

function nested(depth: number, key: string): string {
  return `${`{"${key}":`.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Bodies: arbitrary JSON, policy-shaped documents with wrong or right values, huge, deep, unicode, not JSON. */
const body = fc.oneof(
  {
    arbitrary: fc
      .record(
        {
          mode: fc.constantFrom('off', 'onPush'),
          description: fc.string({ unit: 'grapheme', maxLength: 100 }),
          owners: fc.constant([owner]),
          tags: fc.record({ exclude: fc.constantFrom(['*-dev'], []) }),
        },
        { requiredKeys: [] },
      )
      .map((document) => JSON.stringify(document)),
    weight: 5,
  },
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc
    .record(
      {
        apiVersion: fc.constantFrom('2026-11-01', '2020-01-01', 1),
        mode: fc.constantFrom('off', 'onPush', 'native', 'OFF', 1, null),
        tags: fc.record(
          {
            include: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
            exclude: fc.oneof(fc.constant(null), fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 })),
          },
          { requiredKeys: [] },
        ),
        owners: fc.oneof(
          fc.constant([owner]),
          fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
          fc.constant(null),
        ),
        description: fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.constant(null)),
        retry: fc.record({ maxAttempts: fc.integer({ min: -1, max: 12 }) }, { requiredKeys: [] }),
        protoMember: fc.record({ mode: fc.constant('onPush') }),
        colour: fc.string({ maxLength: 5 }),
      },
      { requiredKeys: [] },
    )
    .map((document) => JSON.stringify(document).replace('"protoMember"', '"__proto__"')),
  fc.integer({ min: 0, max: 4_096 }).map((extra) => JSON.stringify({ description: 'x'.repeat(64 * 1024 + extra) })),
  fc.constant(JSON.stringify({ description: '€'.repeat(22_000) })),
  fc
    .tuple(fc.integer({ min: 100, max: 10_900 }), fc.constantFrom('a', 'tags', 'description', '__proto__'))
    .map(([depth, key]) => nested(depth, key)),
  fc.integer({ min: 100, max: 60_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constant(''),
);

const contentType = fc.oneof(
  { arbitrary: fc.constantFrom('application/json', 'application/merge-patch+json'), weight: 8 },
  fc.constantFrom(
    'application/merge-patch+json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/jsonx',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    '',
  ),
  fc.constant(undefined),
  printable,
);

/** `current` and `stale` are resolved against the table right before the request. */
const ifMatch = fc.oneof(
  fc.constant(undefined),
  fc.constant('*'),
  { arbitrary: fc.constant('current'), weight: 3 },
  fc.constant('stale'),
  printable,
);
const ifNoneMatch = fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, fc.constant('*'), printable);

describe('policy API under random input', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;
  let policies: TableClient;
  let history: TableClient;
  /** How often each status was answered, to show the generators reach every branch (not only the first check). */
  const statuses = new Map<number, number>();

  async function snapshot(): Promise<Snapshot> {
    const [policyRows, historyRows] = await Promise.all(
      [policies, history].map(async (table) => {
        const rows = new Map<string, string>();
        for await (const entity of table.listEntities<{ entry?: string }>())
          rows.set(`${entity.partitionKey}/${entity.rowKey}`, entity.entry ?? entity.etag);
        return rows;
      }),
    );
    return { policies: policyRows!, history: historyRows! };
  }

  async function ensureSeeds(before: Snapshot): Promise<void> {
    for (const seed of seeds) {
      if (before.policies.has(`sandbox/${scopeKey(seed)}`)) continue;
      const response = await sandbox.api(
        host,
        `/registries/sandbox/policies/${seed.split('/').map(encodeURIComponent).join('/')}`,
        {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ mode: 'off', owners: [owner] }),
        },
      );
      expect(response.status).toBe(201);
    }
  }

  function resolveIfMatch(value: string | undefined, target: string, state: Snapshot): string | undefined {
    // As a client that just read the policy: its ETag, or no header when there was nothing to read.
    if (value === 'current') return state.policies.get(`sandbox/${scopeKey(target)}`);
    if (value === 'stale') return staleEtag;
    return value;
  }

  /**
   * Sends one attempt and checks the invariants: no 5xx; a refusal changes nothing (a lost ETag race only adds its
   * record).
   */
  async function attempt(build: (state: Snapshot) => Attempt): Promise<void> {
    let before = await snapshot();
    await ensureSeeds(before);
    before = await snapshot();
    const request = build(before);
    const response = await fetch(`${host.url}/api${request.path}`, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    const text = await response.text();
    const after = await snapshot();
    const describeIt = `${request.method} ${request.path.slice(0, 200)} → ${response.status} ${text.slice(0, 300)}`;

    expect(response.status, describeIt).toBeLessThan(500);
    const added = [...after.history]
      .filter(([key]) => !before.history.has(key))
      .map(([, entry]) => JSON.parse(entry) as PolicyHistoryEntry);
    expect(
      [...before.history].every(([key, entry]) => after.history.get(key) === entry),
      `history rewritten: ${describeIt}`,
    ).toBe(true);
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    // Every refusal is problem+json, the host's own 431 included (issue #17 § 3).
    if (response.status >= 400)
      expect(response.headers.get('content-type'), describeIt).toBe('application/problem+json');
    if (request.method === 'POST' || response.status >= 400) {
      expect(after.policies, describeIt).toEqual(before.policies);
      if (request.method !== 'POST' && response.status === 403)
        // A refused write leaves its trace: one `forbidden` entry with why (issue #17 § 2).
        expect(
          added.map((entry) => [entry.outcome, typeof entry.reason]),
          describeIt,
        ).toEqual([['forbidden', 'string']]);
      else if (request.method === 'POST' || response.status !== 412) expect(added, describeIt).toEqual([]);
      else
        expect(
          added.every((entry) => entry.outcome === 'precondition-failed' || entry.outcome === 'conflict') &&
            added.length <= 1,
          describeIt,
        ).toBe(true);
    } else {
      expect(
        added.map((entry) => entry.outcome),
        describeIt,
      ).toEqual(['applied']);
      if (request.method !== 'DELETE') expect(response.headers.get('etag'), describeIt).toBeTruthy();
    }
  }

  function headers(
    principalValue: string | undefined,
    type: string | undefined,
    extra: Record<string, string | undefined> = {},
  ): Record<string, string> {
    const all: Record<string, string | undefined> = {
      'x-functions-key': hostKeys.function,
      'x-ms-client-principal': principalValue,
      'content-type': type,
      ...extra,
    };
    return Object.fromEntries(Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== undefined));
  }

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({ storageConnectionString: inject('storageConnectionString') });
    host = await sandbox.startHost({ subscribe: false });
    const connection = inject('storageConnectionString');
    policies = TableClient.fromConnectionString(connection, `${sandbox.settings.STORAGE_PREFIX}Policies`, {
      allowInsecureConnection: true,
    });
    history = TableClient.fromConnectionString(connection, `${sandbox.settings.STORAGE_PREFIX}PolicyHistory`, {
      allowInsecureConnection: true,
    });
  });
  afterAll(() => sandbox.close());

  it('PUT', async () => {
    await fc.assert(
      fc.asyncProperty(
        registry,
        scopePath,
        body,
        contentType,
        principal,
        ifMatch,
        ifNoneMatch,
        async (reg, target, document, type, caller, match, noneMatch) => {
          await attempt((state) => ({
            method: 'PUT',
            path: `/registries/${reg}/policies/${target.path}`,
            headers: headers(caller, type, {
              'if-match': resolveIfMatch(match, target.text, state),
              'if-none-match': noneMatch,
            }),
            body: document,
          }));
        },
      ),
      runs,
    );
  });

  it('PATCH', async () => {
    await fc.assert(
      fc.asyncProperty(
        registry,
        scopePath,
        body,
        contentType,
        principal,
        ifMatch,
        async (reg, target, document, type, caller, match) => {
          await attempt((state) => ({
            method: 'PATCH',
            path: `/registries/${reg}/policies/${target.path}`,
            headers: headers(caller, type, { 'if-match': resolveIfMatch(match, target.text, state) }),
            body: document,
          }));
        },
      ),
      runs,
    );
  });

  it('DELETE', async () => {
    await fc.assert(
      fc.asyncProperty(
        registry,
        scopePath,
        principal,
        ifMatch,
        fc.option(body, { nil: undefined }),
        async (reg, target, caller, match, document) => {
          await attempt((state) => ({
            method: 'DELETE',
            path: `/registries/${reg}/policies/${target.path}`,
            headers: headers(caller, undefined, { 'if-match': resolveIfMatch(match, target.text, state) }),
            ...(document === undefined ? {} : { body: document }),
          }));
        },
      ),
      runs,
    );
  });

  it('POST policy-evaluation', async () => {
    const evaluation = fc.oneof(
      fc
        .record(
          {
            repository: fc.oneof(
              fc.constantFrom('fuzz/app', 'fuzz/x', 'other'),
              fc.string({ unit: 'grapheme', maxLength: 300 }),
            ),
            tag: fc.string({ maxLength: 140 }),
            digest: fc.string({ maxLength: 210 }),
            platform: fc.oneof(
              fc.constantFrom('linux/amd64', 'linux/arm64/v8', 'windows/amd64'),
              fc.string({ maxLength: 20 }),
            ),
            sizeBytes: fc.oneof(fc.integer(), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER)),
          },
          { requiredKeys: [] },
        )
        .map((value) => JSON.stringify(value)),
      body,
    );
    await fc.assert(
      fc.asyncProperty(registry, evaluation, contentType, principal, async (reg, document, type, caller) => {
        await attempt(() => ({
          method: 'POST',
          path: `/registries/${reg}/policy-evaluation`,
          headers: headers(caller, type),
          body: document,
        }));
      }),
      runs,
    );
  });

  it('reached success and every refusal along the way', () => {
    const seen = [...statuses.keys()].sort();
    console.info(
      `policy fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`,
    );

    expect(seen).toEqual(expect.arrayContaining([200, 201, 204, 400, 401, 403, 404, 412, 413, 415, 428]));
  });
});
