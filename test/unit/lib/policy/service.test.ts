import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ForbiddenError,
  PreconditionFailedError,
  PreconditionRequiredError,
  ValidationError,
} from '../../../../lib/core/errors.js';
import type { Logger } from '../../../../lib/core/logging.js';
import type { AppRole, Principal } from '../../../../lib/core/principal.js';
import type { ImageFacts } from '../../../../lib/policy/eligibility.js';
import { policySchema, type PolicyInput } from '../../../../lib/policy/model.js';
import { PolicyService } from '../../../../lib/policy/service.js';
import { storedPolicySource } from '../../../../lib/policy/source.js';
import { MemoryPolicyStore } from '../../../support/fakes/policy-store.js';

/**
 * Issue #17 §§ 1–3: who may write which scope, every refusal leaves a trace, and validation that keeps a policy
 * from silently doing nothing. The service against an in-memory store with the Table adapter's write rules.
 */

const registry = 'contoso';
const caller = (id: string, role: AppRole = 'Streaming.Write', name?: string): Principal => ({
  id,
  name,
  roles: new Set([role]),
});
const admin = caller('admin-1', 'Streaming.Admin');
const alice = caller('alice-id', 'Streaming.Write', 'alice@contoso.test');
const bob = caller('bob-id', 'Streaming.Write', 'bob@contoso.test');
const reader = caller('reader-id', 'Streaming.Read');

interface Logged {
  readonly message: string;
  readonly fields: Record<string, unknown> | undefined;
}

function setup(channels: readonly string[] = ['ops-teams'], images: Record<string, ImageFacts> = {}) {
  const store = new MemoryPolicyStore();
  const logged: Logged[] = [];
  const log: Logger = {
    trace() {},
    debug() {},
    info: (message: string, fields?: Record<string, unknown>) => void logged.push({ message, fields }),
    warn() {},
    error() {},
  };
  const service = new PolicyService({
    store,
    resolver: storedPolicySource(store, policySchema.parse({}), 0),
    effects: { apply: () => Promise.resolve({}) },
    readiness: () => Promise.resolve({ ready: true }),
    alertChannels: () => channels,
    image: (_registry, repository, reference) => {
      const facts = images[`${repository}:${reference}`];
      return Promise.resolve(facts && { digest: `sha256:${'d'.repeat(64)}`, facts });
    },
    now: () => new Date('2026-11-29T10:00:00Z'),
  });
  const put = (scope: string, body: PolicyInput, principal: Principal, ifMatch?: string) =>
    service.put(registry, scope, body, ifMatch === undefined ? {} : { ifMatch }, principal, log);
  return { store, service, logged, put, log };
}

/** What the store holds for a scope: its mode and owners, or undefined. */
const held = (store: MemoryPolicyStore, scope: string) => {
  const row = store.rows.get(`${registry}/${scope}`);
  return row && { mode: row.value.policy.mode, owners: row.value.policy.owners };
};

describe('policy ownership (issue #17 § 1)', () => {
  it('the bypass: a writer who owns nothing under team-a/** may not claim team-a/app with a policy of their own', async () => {
    const { store, put } = setup();
    await put('team-a/**', { mode: 'onPush', owners: ['alice-id'] }, admin);

    await expect(put('team-a/app', { mode: 'off', owners: ['bob-id'] }, bob)).rejects.toMatchObject({
      status: 403,
      problems: [{ field: 'params.scope', reason: 'would take over team-a/**, not owned by the caller' }],
    });
    expect(held(store, 'team-a/app')).toBeUndefined();
  });

  it.each([
    ['_default', 'the registry default'],
    ['**', 'every repository'],
    ['*/app', 'a glob across namespaces'],
    ['team-*/**', 'a prefix that is not a namespace'],
  ])('%s (%s) is Admin-only', async (scope) => {
    const { store, put } = setup();

    const refused = put(scope, { mode: 'off', owners: ['bob-id'] }, bob);

    await expect(refused).rejects.toBeInstanceOf(ForbiddenError);
    await expect(refused).rejects.toMatchObject({
      problems: [{ field: 'params.scope', reason: 'Admin-only: registry-wide scope' }],
    });
    expect(held(store, scope)).toBeUndefined();
    await expect(put(scope, { mode: 'off' }, admin)).resolves.toMatchObject({ created: true });
  });

  it("a sibling glob more specific than the owners' glob is refused too", async () => {
    const { put } = setup();
    await put('team-a/**', { mode: 'onPush', owners: ['alice-id'] }, admin);

    await expect(put('team-a/app-*', { mode: 'off', owners: ['bob-id'] }, bob)).rejects.toMatchObject({ status: 403 });
    await expect(put('team-a/sub/**', { mode: 'off', owners: ['bob-id'] }, bob)).rejects.toMatchObject({
      status: 403,
    });
  });

  it('a writer may not claim a repository the registry default governs (only an admin hands out namespaces)', async () => {
    const { put } = setup();

    await expect(put('team-z/app', { mode: 'native', owners: ['bob-id'] }, bob)).rejects.toMatchObject({
      problems: [{ field: 'params.scope', reason: 'would take over _default, not owned by the caller' }],
    });
  });

  it('an owner of team-a/** may create inside it, and becomes an owner of what they create', async () => {
    const { store, put } = setup();
    await put('team-a/**', { mode: 'onPush', owners: ['alice@contoso.test'] }, admin);

    await expect(put('team-a/app', { mode: 'off', owners: ['carol-id'] }, alice)).resolves.toMatchObject({
      created: true,
    });
    await expect(put('team-a/web-*', { mode: 'off' }, alice)).resolves.toMatchObject({ created: true });

    expect(held(store, 'team-a/app')).toEqual({ mode: 'off', owners: ['carol-id', 'alice-id'] });
    expect(held(store, 'team-a/web-*')?.owners).toEqual(['alice-id']);
  });

  it("a delegated sub-namespace is its owner's to divide, whoever owns the namespace around it", async () => {
    const { store, put } = setup();
    await put('team-a/**', { mode: 'onPush', owners: ['alice-id'] }, admin);
    await put('team-a/sub/**', { mode: 'onPush', owners: ['bob-id'] }, admin);

    await expect(put('team-a/sub/x-*', { mode: 'off' }, bob)).resolves.toMatchObject({ created: true });
    await expect(put('team-a/sub/y', { mode: 'off' }, bob)).resolves.toMatchObject({ created: true });
    // …but alice, who owns the namespace around it, may not reach into bob's part.
    await expect(put('team-a/sub/z', { mode: 'off' }, alice)).rejects.toMatchObject({ status: 403 });
    expect(held(store, 'team-a/sub/z')).toBeUndefined();
  });

  it('an owner may change and delete their scope; a non-owner may not, nor any writer the default', async () => {
    const { service, store, put, log } = setup();
    const created = await put('team-a/**', { mode: 'onPush', owners: ['alice-id'] }, admin);
    const defaults = await put('_default', { mode: 'off', owners: ['alice-id'] }, admin);

    await expect(put('team-a/**', { mode: 'off' }, bob, created.etag)).rejects.toMatchObject({ status: 403 });
    await expect(
      service.patch(registry, '_default', { mode: 'onPush' }, { ifMatch: defaults.etag }, alice, log),
    ).rejects.toMatchObject({ problems: [{ field: 'params.scope', reason: 'Admin-only: registry-wide scope' }] });
    const changed = await put('team-a/**', { mode: 'native', owners: ['alice-id'] }, alice, created.etag);
    await service.delete(registry, 'team-a/**', { ifMatch: changed.etag }, alice, log);

    expect(held(store, 'team-a/**')).toBeUndefined();
    expect(held(store, '_default')?.mode).toBe('off');
  });
});

describe('every refusal leaves a trace (issue #17 § 2)', () => {
  it('a refused write is in the history with who, what and why, and logged with the caller', async () => {
    const { service, logged, put } = setup();
    await put('team-a/**', { mode: 'onPush', owners: ['alice-id'] }, admin);

    await expect(put('team-a/app', { mode: 'off' }, bob)).rejects.toBeInstanceOf(ForbiddenError);

    const { items } = await service.history(registry, 'team-a/app', { pageSize: 10 });
    expect(items).toEqual([
      {
        registry,
        scope: 'team-a/app',
        time: '2026-11-29T10:00:00.000Z',
        principal: 'bob-id',
        principalName: 'bob@contoso.test',
        action: 'create',
        outcome: 'forbidden',
        reason: 'would take over team-a/**, not owned by the caller',
        after: expect.objectContaining({ mode: 'off' }) as unknown,
      },
    ]);
    expect(logged).toEqual([
      {
        message: expect.stringContaining('create refused for bob-id') as unknown,
        fields: expect.objectContaining({ caller: 'bob-id', scope: 'team-a/app', registry }) as unknown,
      },
    ]);
  });

  it("a reader's attempted change is recorded as refused for the missing role, and changes nothing", async () => {
    const { service, store, put, log } = setup();
    const created = await put('team-a/**', { mode: 'onPush', owners: ['alice-id'] }, admin);

    await expect(
      service.patch(registry, 'team-a/**', { mode: 'off' }, { ifMatch: created.etag }, reader, log),
    ).rejects.toMatchObject({ status: 403, problems: [{ field: 'roles', reason: 'requires Streaming.Write' }] });

    expect(held(store, 'team-a/**')?.mode).toBe('onPush');
    const { items } = await service.history(registry, 'team-a/**', { pageSize: 10 });
    expect(items.map((entry) => [entry.action, entry.outcome, entry.principal, entry.reason])).toEqual([
      ['patch', 'forbidden', 'reader-id', 'requires Streaming.Write'],
      ['create', 'applied', 'admin-1', undefined],
    ]);
  });
});

describe('validation against silent misconfiguration (issue #17 § 3)', () => {
  it('a policy routing alerts to a channel nobody configured is a 400 naming it, and nothing is stored', async () => {
    const { store, put } = setup(['ops-teams', 'oncall-webhook']);

    const refused = put('team-a/app', { mode: 'onPush', alerts: { channels: ['ops-teams', 'ops-temas'] } }, admin);

    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toMatchObject({
      message: expect.stringContaining('(configured: ops-teams, oncall-webhook)') as unknown,
      problems: [{ field: 'body.alerts.channels.1', reason: 'no alert channel named "ops-temas" is configured' }],
    });
    expect(held(store, 'team-a/app')).toBeUndefined();
  });

  it('an alert event type that does not exist is a 400 naming it', async () => {
    const { put } = setup();

    await expect(
      put(
        'team-a/app',
        { mode: 'onPush', alerts: { events: ['conversion.failed', 'conversion.failled'] } } as unknown as PolicyInput,
        admin,
      ),
    ).rejects.toMatchObject({
      status: 400,
      problems: [
        {
          field: 'body.alerts.events.1',
          reason: expect.stringContaining('"conversion.failled" is not an alert event type') as unknown,
        },
      ],
    });
  });

  it('If-Match: * names no version: refused (428) on PUT of an existing scope and on PATCH; 412 on a create', async () => {
    const { service, store, put, log } = setup();
    await put('team-a/app', { mode: 'onPush' }, admin);

    await expect(put('team-a/app', { mode: 'off' }, admin, '*')).rejects.toBeInstanceOf(PreconditionRequiredError);
    await expect(
      service.patch(registry, 'team-a/app', { mode: 'off' }, { ifMatch: '*' }, admin, log),
    ).rejects.toMatchObject({ status: 428, problems: [{ field: 'headers.if-match' }] });
    await expect(put('team-a/new', { mode: 'off' }, admin, '*')).rejects.toBeInstanceOf(PreconditionFailedError);

    expect(held(store, 'team-a/app')?.mode).toBe('onPush');
    expect(held(store, 'team-a/new')).toBeUndefined();
  });
});

describe('property: no write by a non-owner changes the decision for a repository it does not own (issue #17 § 1)', () => {
  const scopes = [
    '_default',
    '**',
    'team-*/**',
    'team-a/**',
    'team-a/*',
    'team-a/app',
    'team-a/app-*',
    'team-a/{app,web}',
    'team-a/sub/**',
    'team-a/sub/*',
    'team-a/sub/x',
    'team-b/**',
    'team-b/api',
  ];
  const repositories = [
    'team-a/app',
    'team-a/app-1',
    'team-a/web',
    'team-a/sub/x',
    'team-a/sub/y',
    'team-a/sub/deep/z',
    'team-b/api',
    'team-b/x/y',
    'team-c/z',
    'other',
  ];
  const people = ['alice-id', 'bob-id'];
  const stored = fc.record({
    scope: fc.constantFrom(...scopes),
    mode: fc.constantFrom('off' as const, 'onPush' as const, 'native' as const),
    owners: fc.subarray(people),
  });
  const write = fc.record({
    caller: fc.constantFrom(...people),
    action: fc.constantFrom('put' as const, 'patch' as const, 'delete' as const),
    scope: fc.constantFrom(...scopes),
    mode: fc.constantFrom('off' as const, 'onPush' as const, 'native' as const),
    owners: fc.subarray(people),
  });

  it('holds for random scopes, owners, callers and writes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(stored, { selector: (entry) => entry.scope, maxLength: 8 }),
        write,
        async (initial, w) => {
          const { service, store, put, log } = setup();
          for (const entry of initial) await put(entry.scope, { mode: entry.mode, owners: entry.owners }, admin);
          const resolver = storedPolicySource(store, policySchema.parse({}), 0);
          const decisions = () =>
            Promise.all(repositories.map((repository) => resolver.policyFor(registry, repository)));
          const before = await decisions();
          // A stored scope the caller is among the owners of; the DEFAULT_POLICY setting is nobody's.
          const owned = before.map(
            (governing) =>
              store.rows.has(`${registry}/${governing.scope}`) && governing.policy.owners.includes(w.caller),
          );
          const principal = caller(w.caller);
          const etag = store.rows.get(`${registry}/${w.scope}`)?.etag;
          const conditions = etag === undefined ? {} : { ifMatch: etag };
          const attempt =
            w.action === 'put'
              ? service.put(registry, w.scope, { mode: w.mode, owners: w.owners }, conditions, principal, log)
              : w.action === 'patch'
                ? service.patch(registry, w.scope, { mode: w.mode }, conditions, principal, log)
                : service.delete(registry, w.scope, conditions, principal, log);
          await attempt.catch((error: unknown) => {
            // Refusals and missing scopes are outcomes; anything else is a bug.
            if (!(error instanceof Error) || !('status' in error)) throw error;
          });
          const after = await decisions();
          repositories.forEach((repository, index) => {
            const governing = before[index]!;
            if (!owned[index])
              expect(after[index], `${repository} (governed by ${governing.scope})`).toEqual(governing);
          });
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('evaluation of the real image (issue #18 § 6)', () => {
  const armOnly: ImageFacts = {
    repository: 'team-a/arm',
    tags: ['v1'],
    kind: 'image',
    platforms: [{ os: 'linux', architecture: 'arm64' }],
    sizeBytes: 1_000,
  };

  it("decides on the registry's image when the tag names one, and says so", async () => {
    const { service, put, log } = setup([], { 'team-a/arm:v1': armOnly });
    await put('_default', { mode: 'onPush' }, admin);

    const evaluation = await service.evaluate(registry, { repository: 'team-a/arm', tag: 'v1' }, log);

    expect(evaluation.decision.eligible).toBe(false);
    expect(evaluation.image).toMatchObject({ source: 'registry', platforms: ['linux/arm64'], sizeBytes: 1_000 });
  });

  it("uses the request's fields for an image that does not exist yet, and says the fields it ignored otherwise", async () => {
    const { service, put, log } = setup([], { 'team-a/arm:v1': armOnly });
    await put('_default', { mode: 'onPush' }, admin);

    const future = await service.evaluate(
      registry,
      { repository: 'team-a/new', tag: 'v1', platform: 'linux/amd64' },
      log,
    );
    const real = await service.evaluate(
      registry,
      { repository: 'team-a/arm', tag: 'v1', platform: 'linux/amd64' },
      log,
    );

    expect(future).toMatchObject({ decision: { eligible: true }, image: { source: 'hypothetical' } });
    expect(real.image.note).toMatch(/platform given in the request were not used/);
    expect(real.decision.eligible).toBe(false);
  });
});
