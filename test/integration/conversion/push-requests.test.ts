import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedRegistry } from '../../../dev/emulator/server.js';
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

const resourceId = '/subscriptions/0/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/sandbox';

/**
 * What one push costs in ACR requests (issue #19 § 2), counted by the emulator's request log: the product's
 * RegistryClient and ConversionService against the emulated registry. Each case names the question a dropped call
 * answered and shows the case it guarded still ends right.
 */
describe('ACR requests per push', () => {
  let t: TestEmulator;
  let registry: StartedRegistry;
  let settings: RegistrySettings;

  beforeAll(async () => {
    t = await startTestEmulator({ registries: [{ name: 'sandbox' }] });
    registry = t.emulator.registry('sandbox');
    settings = { name: 'sandbox', loginServer: registry.loginServer, resourceId, auth: { type: 'identity' } };
    await t.control.setStreamingBehaviour('sandbox', '*', { startDelayMs: 0, durationMs: 60_000 });
  });

  afterAll(async () => {
    await t?.emulator.close();
  });

  async function setup() {
    const clock = new ManualClock(new Date((await t.control.clock()).now));
    const store = new InMemoryConversionStore();
    const client = emulatorRegistryClient(registry);
    const service = new ConversionService({
      registries: [settings],
      gateway: () => client,
      store,
      outbox: new InMemoryOutbox(),
      queue: new RecordingTrackingQueue(),
      policies: configPolicySource(policySchema.parse({ mode: 'onPush', deadlineMinutes: 60 })),
      readiness: () => Promise.resolve({ ready: true }),
      settings: { firstPollSeconds: 10, maxPollSeconds: 300, leaseSeconds: 300, quietSeconds: 600 },
      clock,
      random: () => 0.5,
    });
    return { service, store, clock };
  }

  /** An ImagePushed event as ACR raises it for the push (its time: the emulator's clock now). */
  async function pushed(repository: string, digest: string, tag: string, id = `${repository}@${digest}`) {
    return {
      id,
      topic: resourceId,
      subject: `${repository}:${tag}`,
      eventType: 'Microsoft.ContainerRegistry.ImagePushed',
      eventTime: (await t.control.clock()).now,
      data: { target: { repository, digest, tag, mediaType: 'application/vnd.oci.image.manifest.v1+json' } },
      dataVersion: '2.0',
      metadataVersion: '1',
    };
  }

  /** The registry's requests made while `action` ran: data-plane calls and token requests apart. */
  async function requestsDuring(action: () => Promise<unknown>) {
    const before = (await t.control.requests({ listener: 'registry' })).at(-1)?.sequence ?? 0;
    await action();
    const made = await t.control.requests({ listener: 'registry', since: before });
    const dataPlane = made.filter((entry) => !entry.path.startsWith('/oauth2/'));
    return {
      dataPlane: dataPlane.map((entry) => `${entry.method} ${entry.path.replace(/sha256:[0-9a-f]{64}/g, '{digest}')}`),
      tokens: made.length - dataPlane.length,
    };
  }

  it('a first push of an eligible image costs 3 data-plane requests: manifest, metadata, the POST', async () => {
    const { service, store } = await setup();
    const { digest } = await t.control.seedImage('sandbox', { kind: 'image', repository: 'cost/eligible', tag: 'v1' });
    const event = await pushed('cost/eligible', digest, 'v1');

    const first = await requestsDuring(() => service.handleEvent(event, log));

    expect(first.dataPlane).toEqual([
      'GET /v2/cost/eligible/manifests/{digest}',
      'GET /acr/v1/cost/eligible/_manifests/{digest}',
      'POST /acr/v1/cost/eligible/_streaming/{digest}',
    ]);
    expect((await store.read({ registry: 'sandbox', repository: 'cost/eligible', digest }))?.value.status).toBe(
      'Running',
    );
    // Event Grid delivers at least once: the same event again costs nothing, tokens included.
    const again = await requestsDuring(() => service.handleEvent(event, log));
    expect(again).toEqual({ dataPlane: [], tokens: 0 });
  });

  it('an ineligible push (linux/arm64) costs 2: manifest and metadata', async () => {
    const { service, store } = await setup();
    const { digest } = await t.control.seedImage('sandbox', {
      kind: 'image',
      repository: 'cost/arm',
      tag: 'v1',
      platform: 'linux/arm64',
    });

    const made = await requestsDuring(async () => service.handleEvent(await pushed('cost/arm', digest, 'v1'), log));

    expect(made.dataPlane).toHaveLength(2);
    expect((await store.read({ registry: 'sandbox', repository: 'cost/arm', digest }))?.value.status).toBe('Skipped');
  });

  it('a digest tagged again after ACR converted it (no row yet) is not converted again: the referrers are read', async () => {
    const { service, store, clock } = await setup();
    const { digest } = await t.control.seedImage('sandbox', { kind: 'image', repository: 'cost/old', tag: 'v1' });
    await t.control.seedImage('sandbox', { kind: 'streaming-referrer', repository: 'cost/old', subject: digest });
    // A day later the same digest gets a new tag: ACR raises ImagePushed for it, the app has no row.
    await t.control.advanceClock(86_400_000);
    clock.advance(86_400);

    const made = await requestsDuring(async () => service.handleEvent(await pushed('cost/old', digest, 'v2'), log));

    expect(made.dataPlane.filter((request) => request.startsWith('POST'))).toEqual([]);
    expect(made.dataPlane).toContain('GET /v2/cost/old/referrers/{digest}');
    expect((await store.read({ registry: 'sandbox', repository: 'cost/old', digest }))?.value.status).toBe('Succeeded');
  });

  it("A18 the other way: a conversion ACR's switch started and ended before the event arrived is made once more", async () => {
    const repository = 'cost/converted-before';
    await t.control.setStreamingBehaviour('sandbox', repository, { startDelayMs: 0, durationMs: 0 });
    await t.control.seedImage('sandbox', { kind: 'image', repository, tag: 'earlier', label: 'earlier' });
    await t.control.setConvertPushedImages('sandbox', repository, true);
    const { service, store } = await setup();
    const { digest } = await t.control.seedImage('sandbox', { kind: 'image', repository, tag: 'v1' });
    await t.control.advanceClock(1_000);
    const ofDigest = async () =>
      (await t.control.listOperations('sandbox')).filter((operation) => operation.digest === digest);
    expect((await ofDigest()).map((operation) => operation.status)).toEqual(['Succeeded']);

    // Within a minute of the push the app takes the digest for new: it starts a second conversion (cost, not harm:
    // the row follows it to Succeeded like any other).
    await service.handleEvent(await pushed(repository, digest, 'v1'), log);
    expect(await ofDigest()).toHaveLength(2);
    expect((await store.read({ registry: 'sandbox', repository, digest }))?.value.status).toBe('Running');

    // The same push delivered later than that reads the referrers and finds the conversion done.
    const late = await setup();
    const pushedAgain = await pushed(repository, digest, 'v1');
    const event = { ...pushedAgain, eventTime: new Date(Date.parse(pushedAgain.eventTime) - 120_000).toISOString() };
    const made = await requestsDuring(() => late.service.handleEvent(event, log));
    expect(made.dataPlane.filter((request) => request.startsWith('POST'))).toEqual([]);
    expect((await late.store.read({ registry: 'sandbox', repository, digest }))?.value.status).toBe('Succeeded');
  });

  it.each(['same-operation', 'conflict'] as const)(
    'a conversion ACR already runs for a fresh push is adopted, not doubled (a start while one runs: %s)',
    async (duplicateStart) => {
      const repository = `cost/running-${duplicateStart}`;
      await t.control.setStreamingBehaviour('sandbox', repository, { durationMs: 60_000, duplicateStart });
      // ACR's own switch is on for the repository (drift from the onPush policy): the push starts ACR's conversion
      // before the app's event is handled.
      await t.control.seedImage('sandbox', { kind: 'image', repository, tag: 'earlier', label: 'earlier' });
      await t.control.setConvertPushedImages('sandbox', repository, true);
      const { service, store } = await setup();
      const { digest } = await t.control.seedImage('sandbox', { kind: 'image', repository, tag: 'v1' });
      const ofDigest = async () =>
        (await t.control.listOperations('sandbox')).filter((operation) => operation.digest === digest);
      const [started] = await ofDigest();
      expect(started).toBeDefined();

      await service.handleEvent(await pushed(repository, digest, 'v1'), log);

      const row = (await store.read({ registry: 'sandbox', repository, digest }))?.value;
      expect(row).toMatchObject({ status: 'Running', operationId: started!.id });
      expect(await ofDigest()).toHaveLength(1);
    },
  );
});
