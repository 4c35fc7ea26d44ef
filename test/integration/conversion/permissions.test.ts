import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedRegistry } from '../../../dev/emulator/server.js';
import { streamingArtifactType } from '../../../lib/core/acr.js';
import type { RegistrySettings } from '../../../lib/core/registries.js';
import { silentLogger as log } from '../../../lib/core/logging.js';
import { ConversionService } from '../../../lib/conversion/service.js';
import { configPolicySource } from '../../../lib/policy/config-source.js';
import { policySchema } from '../../../lib/policy/model.js';
import { ManualClock } from '../../support/fakes/clock.js';
import { InMemoryConversionStore } from '../../support/fakes/conversion-store.js';
import { InMemoryOutbox } from '../../support/fakes/outbox.js';
import { RecordingTrackingQueue } from '../../support/fakes/tracking-queue.js';
import { emulatorRegistryClient } from '../../support/trust.js';
import { startTestEmulator, type TestEmulator } from '../emulator/helpers.js';

/**
 * The conversion service with the product's RegistryClient signed in as an Entra identity, against an emulator that
 * enforces the identity's roles (issue #16 § 3) and attaches an index's streaming artifact where told to.
 */
describe('conversion against a registry that enforces roles', () => {
  let t: TestEmulator;
  let registry: StartedRegistry;
  let settings: RegistrySettings;

  beforeAll(async () => {
    // The Entra token a test's credential returns is the identity's object id.
    t = await startTestEmulator({
      registries: [{ name: 'sandbox' }],
      verifyAccessToken: (token) => (token.length > 0 ? { oid: token } : undefined),
    });
    registry = t.emulator.registry('sandbox');
    settings = {
      name: 'sandbox',
      loginServer: registry.loginServer,
      resourceId: '/subscriptions/0/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/sandbox',
      auth: { type: 'identity' },
    };
    await t.control.setStreamingBehaviour('sandbox', '*', { startDelayMs: 0, durationMs: 1_000 });
  });

  afterAll(async () => {
    await t?.emulator.close();
  });

  function setup(principalId: string, permissionsMode?: string) {
    const clock = new ManualClock(new Date());
    const store = new InMemoryConversionStore();
    const queue = new RecordingTrackingQueue();
    const outbox = new InMemoryOutbox();
    const client = emulatorRegistryClient(registry, principalId);
    const service = new ConversionService({
      registries: [settings],
      gateway: () => client,
      store,
      outbox,
      queue,
      policies: configPolicySource(policySchema.parse({ mode: 'onPush', deadlineMinutes: 60 })),
      // What lib/registry/readiness.ts reads from ARM's `roleAssignmentMode`
      // (test/integration/emulator-cloud/arm.test.ts).
      readiness: () => Promise.resolve({ ready: true, ...(permissionsMode === undefined ? {} : { permissionsMode }) }),
      settings: { firstPollSeconds: 1, maxPollSeconds: 2, leaseSeconds: 300, quietSeconds: 600 },
      clock,
      random: () => 0.5,
    });
    return { service, store, queue, outbox, client };
  }

  it('an identity with AcrPull only is DENIED the start and the conversion ends Failed naming the role', async () => {
    const { digest } = await t.control.seedImage('sandbox', {
      kind: 'image',
      repository: 'team-a/pull-only',
      tag: 'v1',
      platform: 'linux/amd64',
    });
    await t.control.assignRoles('sandbox', 'app-pull-only', [{ role: 'AcrPull' }]);
    const { service, store, outbox } = setup('app-pull-only');
    const key = { registry: 'sandbox', repository: 'team-a/pull-only', digest };

    const outcome = await service.request(key, { source: 'backfill', tags: ['v1'] }, log);

    expect(outcome).toBe('Failed');
    const record = store.get(key)!;
    expect(record).toMatchObject({ status: 'Failed', lastErrorCode: 'DENIED' });
    expect(record.remediation).toMatch(/AcrPush/);
    expect(record.remediation).toMatch(/Container Registry Repository Writer/);
    expect(outbox.ofType('conversion.failed')).toMatchObject([{ errorCode: 'DENIED' }]);
    const posts = await t.control.requests({ method: 'POST', path: `/acr/v1/team-a/pull-only/_streaming/${digest}` });
    expect(posts.map((r) => r.status)).toEqual([403]);
    expect(await t.control.listOperations('sandbox')).not.toContainEqual(expect.objectContaining({ digest }));
  });

  it.each([
    {
      mode: 'LegacyRegistryPermissions',
      role: 'AcrPull',
      names: /grant the identity AcrPush on the registry/,
      notNames: /Repository Writer/,
    },
    {
      mode: 'AbacRepositoryPermissions',
      role: 'Container Registry Repository Reader',
      names: /"Container Registry Repository Writer"/,
      notNames: /grant the identity AcrPush/,
    },
  ] as const)(
    'in $mode mode, a DENIED start names the one role that helps there',
    async ({ mode, role, names, notNames }) => {
      const repository = `team-a/denied-${mode.toLowerCase()}`;
      const { digest } = await t.control.seedImage('sandbox', {
        kind: 'image',
        repository,
        tag: 'v1',
        platform: 'linux/amd64',
      });
      await t.control.setPermissions('sandbox', { mode });
      const principal = `app-${mode}`;
      await t.control.assignRoles('sandbox', principal, [{ role }]);
      try {
        const { service, store } = setup(principal, mode);
        const key = { registry: 'sandbox', repository, digest };

        expect(await service.request(key, { source: 'backfill', tags: ['v1'] }, log)).toBe('Failed');

        const record = store.get(key)!;
        expect(record).toMatchObject({ status: 'Failed', lastErrorCode: 'DENIED' });
        expect(record.remediation).toMatch(names);
        expect(record.remediation).not.toMatch(notNames);
      } finally {
        await t.control.setPermissions('sandbox', { mode: 'LegacyRegistryPermissions' });
      }
    },
  );

  it('an identity nobody assigned roles to may convert (the sandbox stays friendly)', async () => {
    const { digest } = await t.control.seedImage('sandbox', {
      kind: 'image',
      repository: 'team-a/friendly',
      tag: 'v1',
      platform: 'linux/amd64',
    });
    const { service } = setup('app-unrestricted');

    const outcome = await service.request(
      { registry: 'sandbox', repository: 'team-a/friendly', digest },
      { source: 'backfill', tags: ['v1'] },
      log,
    );

    expect(outcome).toBe('Running');
  });

  it.each(['index', 'linux-amd64-child'] as const)(
    'a multi-arch index ends Succeeded when ACR attaches its streaming artifact to the %s',
    async (placement) => {
      const repository = `team-a/multi-${placement}`;
      const seeded = await t.control.seedImage('sandbox', {
        kind: 'index',
        repository,
        tag: 'v1',
        platforms: ['linux/amd64', 'linux/arm64'],
      });
      await t.control.setStreamingBehaviour('sandbox', repository, { indexReferrer: placement });
      const { service, store, queue, client } = setup('app-multi-arch');
      const key = { registry: 'sandbox', repository, digest: seeded.digest };

      expect(await service.request(key, { source: 'backfill', tags: ['v1'] }, log)).toBe('Running');
      await t.control.advanceClock(5_000);
      while (queue.waiting.length > 0 && store.get(key)?.status === 'Running')
        await service.track(queue.take().message, log);

      expect(store.get(key)).toMatchObject({ status: 'Succeeded', attempts: 1 });
      const amd64 = seeded.children.find((c) => c.architecture === 'amd64')!.digest;
      const [onIndex, onChild] = await Promise.all(
        [seeded.digest, amd64].map((d) => client.listReferrers(repository, d, streamingArtifactType)),
      );
      expect([onIndex!.length, onChild!.length]).toEqual(placement === 'index' ? [1, 0] : [0, 1]);
    },
  );
});
