import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestEvent, RegistryDefinition } from '../../../dev/emulator/contract.js';
import { startTestingServer, type TestingServer } from '../../../dev/emulator/entra/testing-server.js';
import {
  clockTimeline,
  createEventGridControlHandler,
  createEventGridEngine,
  type EventGridEngine,
  type EventGridEngineOptions,
  toEventGridEvent,
} from '../../../dev/emulator/eventgrid/index.js';
import { createTestClock } from './clock.js';
import { startReceiver, validating, type Receiver } from './receiver.js';
import { createTestPki, type TestPki } from './tls.js';

const SANDBOX: RegistryDefinition = {
  name: 'sandbox',
  subscriptionId: '00000000-1111-2222-3333-444444444444',
  resourceGroup: 'rg-sandbox',
  location: 'westeurope',
  sku: 'Premium',
  customerManagedKey: false,
  anonymousPullEnabled: false,
  loginServer: 'localhost:44301',
  adminUser: undefined,
};
const TOPIC = `/subscriptions/${SANDBOX.subscriptionId}/resourceGroups/rg-sandbox/providers/Microsoft.ContainerRegistry/registries/sandbox`;
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const PUSH: ManifestEvent = {
  action: 'push',
  registry: 'sandbox',
  repository: 'team-a/app',
  digest: DIGEST,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 1153,
  tag: 'latest',
  userAgent: 'skopeo/1.15',
  method: 'PUT',
};
const pushOf = (tag: string): ManifestEvent => ({ ...PUSH, tag });

interface Envelope {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  data: { id: string; target: Record<string, unknown>; request: Record<string, unknown> } & Record<string, unknown>;
}

describe('Event Grid delivery engine', () => {
  const clock = createTestClock();
  let pki: TestPki;
  let receiver: Receiver;
  let secureReceiver: Receiver;
  let directory: string;
  const engines: EventGridEngine[] = [];

  const engine = (overrides: Partial<EventGridEngineOptions> = {}): EventGridEngine => {
    const created = createEventGridEngine({
      registries: () => [SANDBOX],
      clock,
      timeScale: 0.001,
      deliveryTimeoutMs: 2000,
      ca: pki.caPem,
      ...overrides,
    });
    engines.push(created);
    return created;
  };

  beforeAll(async () => {
    pki = createTestPki();
    receiver = await startReceiver();
    secureReceiver = await startReceiver({ cert: pki.certPem, key: pki.keyPem });
    directory = mkdtempSync(join(tmpdir(), 'eventgrid-dl-'));
  });
  afterEach(() => {
    for (const e of engines.splice(0)) e.close();
  });
  afterAll(async () => {
    await receiver.close();
    await secureReceiver.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('validates the subscription, then delivers ImagePushed/ImageDeleted with the exact envelope (HTTPS, emulator CA)', async () => {
    const grid = engine();
    secureReceiver.on(
      '/api/events',
      validating(() => 200),
    );

    const sub = await grid.createSubscription({
      name: 'autopilot',
      registry: 'sandbox',
      endpoint: `${secureReceiver.url}/api/events`,
      deliveryHeaders: { 'x-functions-key': 'k1' },
    });
    grid.publish(PUSH);
    grid.publish({
      action: 'delete',
      registry: 'sandbox',
      repository: 'team-a/app',
      digest: DIGEST,
      mediaType: PUSH.mediaType,
      method: 'DELETE',
    });
    await grid.whenIdle();

    expect(sub.provisioningState).toBe('Succeeded');
    const [handshake] = secureReceiver.received;
    expect(handshake?.headers['aeg-event-type']).toBe('SubscriptionValidation');
    expect(handshake?.body).toEqual([
      expect.objectContaining({
        topic: TOPIC,
        subject: '',
        eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
        metadataVersion: '1',
        dataVersion: '1',
      }),
    ]);

    const [pushed, deleted] = secureReceiver.notifications('/api/events');
    expect(pushed?.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'aeg-event-type': 'Notification',
      'aeg-subscription-name': 'AUTOPILOT',
      'aeg-delivery-count': '1',
      'x-functions-key': 'k1',
    });
    const [event] = pushed?.body as [Envelope];
    // Key order as in test/fixtures/reference/eventgrid/image_pushed.json (connectedRegistry omitted: cloud registry).
    expect(Object.keys(event)).toEqual([
      'id',
      'topic',
      'subject',
      'eventType',
      'data',
      'dataVersion',
      'metadataVersion',
      'eventTime',
    ]);
    expect(Object.keys(event.data)).toEqual(['id', 'timestamp', 'action', 'location', 'target', 'request']);
    expect(Object.keys(event.data.target)).toEqual(['mediaType', 'size', 'digest', 'length', 'repository', 'tag']);
    expect(Object.keys(event.data.request)).toEqual(['id', 'host', 'method', 'useragent']);
    expect(event).toMatchObject({
      topic: TOPIC,
      subject: 'team-a/app:latest',
      eventType: 'Microsoft.ContainerRegistry.ImagePushed',
      dataVersion: '2.0',
      metadataVersion: '1',
      eventTime: '2026-11-23T12:00:00.0000000Z',
      data: {
        id: event.id,
        action: 'push',
        location: 'westeurope',
        target: {
          mediaType: PUSH.mediaType,
          size: 1153,
          digest: DIGEST,
          length: 1153,
          repository: 'team-a/app',
          tag: 'latest',
        },
        request: { host: 'localhost:44301', method: 'PUT', useragent: 'skopeo/1.15' },
      },
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    const [parsed] = await new EventGridDeserializer().deserializeEventGridEvents(JSON.stringify(pushed?.body));
    expect(parsed && isSystemEvent('Microsoft.ContainerRegistry.ImagePushed', parsed)).toBe(true);

    const [gone] = deleted?.body as [Envelope];
    expect(gone).toMatchObject({
      subject: 'team-a/app',
      eventType: 'Microsoft.ContainerRegistry.ImageDeleted',
      data: { action: 'delete', request: { method: 'DELETE' } },
    });
    expect(Object.keys(gone.data.target)).toEqual(['mediaType', 'digest', 'repository']);
    expect(gone.id).not.toBe(event.id);
  });

  it('maps a tagless push to subject = repository, without a tag', () => {
    const event = toEventGridEvent({ ...PUSH, tag: undefined, userAgent: undefined }, SANDBOX, { now: clock.now() });
    expect(event.subject).toBe('team-a/app');
    expect(Object.keys(event.data.target)).toEqual(['mediaType', 'size', 'digest', 'length', 'repository']);
    expect(Object.keys(event.data.request)).toEqual(['id', 'host', 'method']);
    expect(event.data.id).toBe(event.id);
  });

  it('keeps a subscription inactive when the handshake is not answered, until its validationUrl is visited', async () => {
    const grid = engine();
    const control: TestingServer = await startTestingServer({
      handlers: [createEventGridControlHandler(grid)],
      listener: { kind: 'control' },
    });
    try {
      receiver.on('/no-echo', (request) => ({
        status: request.headers['aeg-event-type'] === 'SubscriptionValidation' ? 202 : 200,
      }));
      const created = await fetch(`${control.url}/_emulator/eventgrid/subscriptions/noecho`, {
        method: 'PUT',
        body: JSON.stringify({ endpoint: `${receiver.url}/no-echo` }),
      });
      const body = (await created.json()) as { code: string; detail: string };
      expect(created.status).toBe(400);
      expect(created.headers.get('content-type')).toBe('application/problem+json');
      expect(body.code).toBe('WebhookValidationFailed');
      expect(body.detail).toMatch(/response code 202/);

      grid.publish(PUSH);
      await grid.whenIdle();
      expect(receiver.notifications('/no-echo')).toHaveLength(0);

      const [handshake] = receiver.received.filter((r) => r.path === '/no-echo') as unknown as [
        { body: [{ data: { validationUrl: string } }] },
      ];
      const validationUrl = new URL(handshake.body[0].data.validationUrl);
      const validated = await fetch(`${control.url}${validationUrl.pathname}${validationUrl.search}`);
      expect(validated.status).toBe(200);
      grid.publish(PUSH);
      await grid.whenIdle();
      expect(receiver.notifications('/no-echo')).toHaveLength(1);
    } finally {
      await control.close();
    }
  });

  it('redelivers after a 500 with aeg-delivery-count 2 and the same event id', async () => {
    const grid = engine();
    receiver.on(
      '/flaky',
      validating((n) => (n === 0 ? 500 : 200)),
    );
    await grid.createSubscription({ name: 'flaky', endpoint: `${receiver.url}/flaky` });

    grid.publish(PUSH);
    await grid.whenIdle();

    const deliveries = receiver.notifications('/flaky');
    expect(deliveries.map((d) => d.headers['aeg-delivery-count'])).toEqual(['1', '2']);
    expect(new Set(deliveries.map((d) => (d.body as [Envelope])[0].id)).size).toBe(1);
    expect(grid.deliveryLog().map((e) => [e.status, e.next, e.retryInMs])).toEqual([
      [500, 'retry', 10_000],
      [200, 'done', undefined],
    ]);
  });

  it('dead-letters a 400 at once, as a JSON file with the dead-letter properties', async () => {
    const grid = engine();
    receiver.on(
      '/bad',
      validating(() => 400),
    );
    await grid.createSubscription({
      name: 'rejects-bad',
      endpoint: `${receiver.url}/bad`,
      deadLetterDirectory: directory,
    });

    grid.publish(PUSH);
    await grid.whenIdle();

    expect(receiver.notifications('/bad')).toHaveLength(1);
    const [record] = grid.deadLetters();
    expect(record?.file).toContain(`${sep}REJECTS-BAD${sep}2026${sep}11${sep}23${sep}12${sep}`);
    const [written] = JSON.parse(readFileSync(record!.file, 'utf8')) as [Record<string, unknown>];
    expect(written).toMatchObject({
      subject: 'team-a/app:latest',
      deadLetterReason: 'UndeliverableDueToHttpBadRequest',
      deliveryAttempts: 1,
      lastDeliveryOutcome: 'BadRequest',
      lastHttpStatusCode: 400,
      publishTime: '2026-11-23T12:00:00.0000000Z',
      lastDeliveryAttemptTime: '2026-11-23T12:00:00.0000000Z',
    });
  });

  it('dead-letters after maxDeliveryAttempts', async () => {
    const grid = engine();
    receiver.on(
      '/down',
      validating(() => 503),
    );
    await grid.createSubscription({
      name: 'down',
      endpoint: `${receiver.url}/down`,
      maxDeliveryAttempts: 3,
      deadLetterDirectory: directory,
    });

    grid.publish(PUSH);
    await grid.whenIdle();

    expect(receiver.notifications('/down').map((d) => d.headers['aeg-delivery-count'])).toEqual(['1', '2', '3']);
    // 503 waits at least 30 s between attempts (instead of the 10 s first step).
    expect(grid.deliveryLog().map((e) => e.retryInMs)).toEqual([30_000, 30_000, undefined]);
    expect(grid.deadLetters()[0]?.event).toMatchObject({
      deadLetterReason: 'MaxDeliveryAttemptsExceeded',
      deliveryAttempts: 3,
      lastDeliveryOutcome: 'ServiceUnavailable',
    });
  });

  it('dead-letters when the event time-to-live runs out before the next scheduled attempt', async () => {
    // 1 min TTL: attempts at 0 s, 10 s, 40 s; the next (1 min later) would pass the TTL.
    const grid = engine({ timeScale: 0.01, deadLetterDelayMs: 1000 });
    receiver.on(
      '/ttl',
      validating(() => 500),
    );
    await grid.createSubscription({
      name: 'ttl',
      endpoint: `${receiver.url}/ttl`,
      eventTimeToLiveInMinutes: 1,
      deadLetterDirectory: directory,
    });

    grid.publish(PUSH);
    await grid.whenIdle();

    expect(receiver.notifications('/ttl')).toHaveLength(3);
    expect(grid.deadLetters()[0]?.event).toMatchObject({
      deadLetterReason: 'TimeToLiveExceeded',
      deliveryAttempts: 3,
      lastDeliveryOutcome: 'InternalServerError',
    });
  });

  it('gives up on a webhook that never answers within the delivery timeout', async () => {
    const grid = engine({ deliveryTimeoutMs: 100 });
    receiver.on(
      '/hang',
      validating(() => 0),
    );
    await grid.createSubscription({
      name: 'hang',
      endpoint: `${receiver.url}/hang`,
      maxDeliveryAttempts: 2,
      deadLetterDirectory: directory,
    });

    grid.publish(PUSH);
    await grid.whenIdle();

    expect(grid.deliveryLog().map((e) => e.outcome)).toEqual(['TimedOut', 'TimedOut']);
    const dead = grid.deadLetters()[0]?.event;
    expect(dead).toMatchObject({ deadLetterReason: 'MaxDeliveryAttemptsExceeded', lastDeliveryOutcome: 'TimedOut' });
    expect(dead).not.toHaveProperty('lastHttpStatusCode');
  });

  it('runs retries on the emulator clock when given clockTimeline (no real waiting)', async () => {
    const virtual = createTestClock();
    const grid = engine({ clock: virtual, timeline: clockTimeline(virtual) });
    receiver.on(
      '/virtual',
      validating((n) => (n < 2 ? 500 : 204)),
    );
    await grid.createSubscription({ name: 'virtual', endpoint: `${receiver.url}/virtual` });
    // Each failed attempt schedules its retry on the clock; jump straight to it.
    grid.onDelivery((entry) => {
      if (entry.retryInMs !== undefined) virtual.advance(entry.retryInMs);
    });

    grid.publish(PUSH);
    await grid.whenIdle();

    expect(grid.deliveryLog().map((e) => [e.deliveryCount, e.time])).toEqual([
      [1, '2026-11-23T12:00:00.0000000Z'],
      [2, '2026-11-23T12:00:10.0000000Z'],
      [3, '2026-11-23T12:00:40.0000000Z'],
    ]);
  });

  it('at-least-once mode duplicates and reorders deliveries, reproducibly for a seed', async () => {
    const run = async (path: string): Promise<string[]> => {
      const grid = engine();
      receiver.on(
        path,
        validating(() => 200),
      );
      await grid.createSubscription({ name: `dup${path.replace(/\W/g, '')}`, endpoint: `${receiver.url}${path}` });
      grid.setAtLeastOnce({ enabled: true, duplicateProbability: 1, reorder: true, seed: 7 });
      for (const tag of ['t1', 't2', 't3', 't4', 't5']) grid.publish(pushOf(tag));
      await grid.whenIdle();
      const log = grid.deliveryLog();
      expect(log.filter((e) => e.duplicate)).toHaveLength(5);
      return receiver.notifications(path).map((d) => (d.body as [Envelope])[0].subject.split(':')[1] ?? '');
    };

    const first = await run('/dup-a');
    const second = await run('/dup-b');

    expect([...first].sort()).toEqual(['t1', 't1', 't2', 't2', 't3', 't3', 't4', 't4', 't5', 't5']);
    expect(first).not.toEqual([...first].sort());
    expect(second).toEqual(first);
  });
});
