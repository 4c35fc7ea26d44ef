import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { type RegistrySettings } from '../../lib/core/registries.js';
import { imageDeletedType, imagePushedType, parseRegistryEvent } from '../../lib/conversion/events.js';
import {
  AppStorage,
  changes,
  fakeDigest,
  quietTimers,
  rawRequest,
  waitUntil,
  type RawResponse,
} from '../support/hostile.js';
import { hostKeys, SandboxHarness, type HostProcess } from '../support/sandbox-harness.js';

/**
 * Hostile Event Grid deliveries to `onRegistryEvent` through the host's webhook, with the real system key: junk,
 * spoofed topics, huge and deep bodies, events about images that do not exist, handshakes from strangers. The app
 * must answer below 500 (nothing here is transient), write nothing, keep running, and say why it refused.
 */
// No shrinking: the system under test keeps state, so a shrunk replay would not show the first failure.
const runs = { seed: 20_261_209, numRuns: 250, endOnFailure: true };
/** Stands for "a fresh id" in generated events; replaced before sending so log lines can be matched to events. */
const freshId = '\u0000fresh';
/** `{ [deepMarker]: n }` becomes an object nested n deep in the body. */
const deepMarker = '__deep__';

/** Anything JSON can carry, small. */
const junk = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
);

function nestedObject(depth: number): string {
  return `${'{"target":'.repeat(depth)}{}${'}'.repeat(depth)}`;
}

describe('Event Grid webhook under hostile deliveries', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;
  let storage: AppStorage;
  let registries: readonly RegistrySettings[];
  let topic: string;
  let sequence = 0;
  const statuses = new Map<number, number>();
  const outcomes = new Map<string, number>();

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      settings: quietTimers,
    });
    host = await sandbox.startHost({ subscribe: false });
    storage = new AppStorage(inject('storageConnectionString'), sandbox.settings.STORAGE_PREFIX!);
    registries = loadConfig(sandbox.settings).registries;
    topic = registries[0]!.resourceId;
    await storage.settle();
  });
  afterAll(() => sandbox.close());

  const webhookPath = (code = hostKeys.eventGrid): string =>
    `/runtime/webhooks/eventgrid?functionName=onRegistryEvent&code=${encodeURIComponent(code)}`;

  const topicArb = (): fc.Arbitrary<unknown> =>
    fc.oneof(
      { arbitrary: fc.constant(topic), weight: 14 },
      fc.constantFrom(
        topic.toUpperCase(),
        topic.toLowerCase(),
        `${topic}/`,
        `${topic}/repositories/x`,
        ` ${topic}`,
        topic.replace('registries/sandbox', 'registries/sandbox2'),
        topic.replace('sandbox', 'sändbox'),
      ),
      fc
        .tuple(fc.uuid(), fc.stringMatching(/^[a-zA-Z0-9-]{1,20}$/), fc.stringMatching(/^[a-z0-9]{2,20}$/))
        .map(
          ([subscription, group, name]) =>
            `/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.ContainerRegistry/registries/${name}`,
        ),
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc.constant('x'.repeat(1_500)),
      junk,
    );

  const repositoryArb = fc.oneof(
    { arbitrary: fc.constantFrom('team-a/app', 'team-b/multi', 'hostile/nowhere'), weight: 10 },
    { arbitrary: fc.stringMatching(/^[a-z0-9]{1,8}(\/[a-z0-9]{1,8}){0,2}$/), weight: 4 },
    fc.constantFrom(
      'Team-A/App',
      '../team-a/app',
      'team-a//app',
      'team-a/app/',
      '/team-a/app',
      'team-a/app:v1',
      'tëam/app',
      'a'.repeat(300),
      '',
    ),
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    junk,
  );

  const digestArb = fc.oneof(
    { arbitrary: fc.nat().map(fakeDigest), weight: 16 },
    fc.constantFrom(
      'sha256:',
      'sha256:abc',
      `sha512:${'a'.repeat(128)}`,
      `SHA256:${'A'.repeat(64)}`,
      `sha256:${'g'.repeat(64)}`,
      `sha256:${'a'.repeat(64)}/../x`,
      'x'.repeat(250),
    ),
    fc.string({ maxLength: 80 }),
    junk,
  );

  const dataArb = fc.oneof(
    {
      arbitrary: fc.record(
        {
          id: fc.oneof({ arbitrary: fc.uuid(), weight: 6 }, junk),
          action: fc.constantFrom('push', 'delete', 'chart_push'),
          target: fc.record(
            {
              mediaType: fc.oneof(
                { arbitrary: fc.constant('application/vnd.oci.image.manifest.v1+json'), weight: 6 },
                junk,
              ),
              size: fc.oneof({ arbitrary: fc.nat(), weight: 6 }, fc.constant(-1), junk),
              digest: digestArb,
              repository: repositoryArb,
              tag: fc.oneof(
                { arbitrary: fc.constantFrom('v1', 'latest'), weight: 6 },
                fc.constantFrom('-bad', 'a'.repeat(200)),
                junk,
              ),
            },
            { requiredKeys: ['digest', 'repository'] },
          ),
          request: fc.object({ maxDepth: 1 }),
        },
        { requiredKeys: ['target'] },
      ),
      weight: 20,
    },
    junk,
    fc.constant({}),
    // Kept as a marker until serialization: fast-check cannot print a 5 000-deep object in a counterexample.
    fc.integer({ min: 100, max: 5_000 }).map((depth) => ({ [deepMarker]: depth })),
  );

  /** One event: Event Grid schema with each field right, wrong, huge or missing. */
  const eventArb = (): fc.Arbitrary<Record<string, unknown>> =>
    fc
      .record({
        id: fc.oneof(
          { arbitrary: fc.constant(freshId), weight: 30 },
          junk,
          fc.constant(''),
          fc.constant('i'.repeat(300)),
        ),
        topic: topicArb(),
        subject: fc.oneof(
          { arbitrary: fc.string({ maxLength: 40 }), weight: 12 },
          { arbitrary: junk, weight: 3 },
          fc.integer({ min: 2_049, max: 1_000_000 }).map((length) => 's'.repeat(length)),
        ),
        eventType: fc.oneof(
          { arbitrary: fc.constantFrom(imagePushedType, imageDeletedType), weight: 16 },
          fc.constantFrom(
            'Microsoft.EventGrid.SubscriptionValidationEvent',
            'Microsoft.ContainerRegistry.ChartPushed',
            'microsoft.containerregistry.imagepushed',
            '',
          ),
          fc.string({ maxLength: 30 }),
          junk,
        ),
        eventTime: fc.oneof(
          { arbitrary: fc.date({ noInvalidDate: true }).map((date) => date.toISOString()), weight: 8 },
          junk,
        ),
        dataVersion: fc.oneof({ arbitrary: fc.constant('1.0'), weight: 8 }, junk),
        metadataVersion: fc.oneof({ arbitrary: fc.constant('1'), weight: 8 }, junk),
        data: dataArb,
      })
      .chain((event) =>
        fc
          .oneof(
            { arbitrary: fc.constant<string[]>([]), weight: 8 },
            fc.subarray(Object.keys(event), { minLength: 1, maxLength: 2 }),
          )
          .map((drop) => Object.fromEntries(Object.entries(event).filter(([key]) => !drop.includes(key)))),
      );

  /** What a hostile sender puts in the body: batches, single events, junk arrays, not JSON at all, ~1 MB. */
  const bodyArb = (): fc.Arbitrary<unknown> =>
    fc.oneof(
      { arbitrary: fc.array(eventArb(), { minLength: 1, maxLength: 4 }), weight: 8 },
      { arbitrary: eventArb(), weight: 2 },
      // Handshakes (sent with either aeg-event-type): a stranger's validation code, right or wrong.
      {
        arbitrary: fc
          .record({
            id: fc.constant(freshId),
            topic: topicArb(),
            eventType: fc.constant('Microsoft.EventGrid.SubscriptionValidationEvent'),
            data: fc.oneof(
              fc.record({
                validationCode: fc.oneof(fc.uuid(), fc.string({ maxLength: 300 })),
                validationUrl: fc.webUrl(),
              }),
              junk,
            ),
          })
          .map((event) => [event]),
        weight: 3,
      },
      fc.array(fc.oneof(junk, eventArb()), { minLength: 1, maxLength: 5 }),
      fc.constantFrom('', ' ', '[]', '{}', 'null', '[null]', 'true', '"x"', '{"id":', '\u0000', '\uFEFF[]'),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.integer({ min: 1_000, max: 60_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
      fc
        .integer({ min: 900_000, max: 1_000_000 })
        .map((length) => `[{"id":"big","eventType":"${'e'.repeat(length)}"}]`),
      fc.integer({ min: 900_000, max: 1_000_000 }).map((length) => 'j'.repeat(length)),
    );

  const headerArb = fc.record({
    'content-type': fc.oneof(
      fc.constant('application/json'),
      fc.constantFrom(
        'text/plain',
        'application/cloudevents+json',
        'application/x-www-form-urlencoded',
        'application/json; charset=utf-16',
        '',
      ),
      fc.constant(undefined),
    ),
    'aeg-event-type': fc.oneof(
      { arbitrary: fc.constant('Notification'), weight: 6 },
      { arbitrary: fc.constant('SubscriptionValidation'), weight: 3 },
      fc.constantFrom('SubscriptionDeletion', 'notification', 'Unsubscribe', ''),
      fc.constant(undefined),
    ),
  });

  /** Replaces the fresh-id marker with unique ids and serializes (strings pass through as the raw body). */
  function materialize(body: unknown): string {
    if (typeof body === 'string') return body;
    const withIds = (event: unknown): unknown =>
      typeof event === 'object' && event !== null && !Array.isArray(event) && (event as { id?: unknown }).id === freshId
        ? { ...event, id: `hostile-${++sequence}` }
        : event;
    return JSON.stringify(Array.isArray(body) ? body.map(withIds) : withIds(body)).replace(
      /\{"__deep__":(\d+)\}/g,
      (_, depth: string) => nestedObject(Number(depth)),
    );
  }

  async function deliver(body: unknown, headers: Record<string, string | undefined>): Promise<void> {
    const before = await storage.snapshot();
    const text = materialize(body);
    const response: RawResponse = await rawRequest(host.url, {
      method: 'POST',
      path: webhookPath(),
      headers,
      body: text,
    });
    const what = `${headers['aeg-event-type'] ?? '(no aeg-event-type)'} ${text.slice(0, 300)} → ${response.status} ${response.text.slice(0, 300)}`;
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);

    expect(response.status, what).toBeLessThan(500);
    // The Event Grid extension's answers: 200 to a handshake, 202 to a notification (and Unsubscribe), 400 else.
    expect([200, 202, 400], what).toContain(response.status);
    if (response.status === 400) {
      // Refused by the host's Event Grid extension: the reason is in the answer (no function ran).
      expect(response.headers['content-type'], what).toBe('application/problem+json');
      expect((JSON.parse(response.text) as { detail?: string }).detail, what).toMatch(/\w/);
      outcomes.set('host-refused', (outcomes.get('host-refused') ?? 0) + 1);
    } else if (response.status === 200) {
      expect(headers['aeg-event-type']?.toLowerCase(), what).toBe('subscriptionvalidation');
      expect(JSON.parse(response.text), what).toEqual({ validationResponse: expect.any(String) as unknown });
      outcomes.set('handshake', (outcomes.get('handshake') ?? 0) + 1);
    } else if (headers['aeg-event-type']?.toLowerCase() === 'unsubscribe') {
      // Accepted by the extension without running the function.
      outcomes.set('unsubscribed', (outcomes.get('unsubscribed') ?? 0) + 1);
    } else {
      // What the host parsed, not the generated objects (JSON drops undefined, turns -0 into 0).
      const sent = JSON.parse(text) as unknown;
      await expectLogged(Array.isArray(sent) ? sent : [sent], what);
    }
    const after = await storage.snapshot();
    expect(changes(before, after), what).toEqual([]);
  }

  /** Every event the function saw is accounted for in the log, with the reason the product's parser gives. */
  async function expectLogged(events: readonly unknown[], what: string): Promise<void> {
    for (const event of events) {
      const parsed = parseRegistryEvent(event, registries);
      const id = JSON.stringify(parsed.eventId);
      let expected: string | undefined;
      if (parsed.kind === 'rejected')
        // The event id first; an unknown topic or a bad name adds what the event said (topic, repository, digest).
        expected = `event rejected: ${parsed.reason} ${parsed.eventId === undefined ? '{}' : `{"eventId":${id}`}`;
      else if (parsed.kind === 'ignored') expected = `event ignored: ${parsed.reason} {"eventId":${id}}`;
      else if (parsed.kind === 'pushed') expected = `manifest no longer exists; nothing to convert`;
      outcomes.set(parsed.kind, (outcomes.get(parsed.kind) ?? 0) + 1);
      // An ImageDeleted for an image never recorded has nothing to mark and is not an error: no line, no write.
      if (expected === undefined) continue;
      const needle = expected;
      const pushedId = parsed.kind === 'pushed' ? `"eventId":${id}` : undefined;
      await waitUntil(
        () =>
          host
            .output()
            .split('\n')
            .some((line) => line.includes(needle) && (pushedId === undefined || line.includes(pushedId))),
        () => `no log line "${needle.slice(0, 300)}" for ${what}\n${host.output().slice(-2_000)}`,
        10_000,
        25,
      );
    }
  }

  it('answers every generated delivery below 500, writes nothing and logs why', async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb(), headerArb, async (body, headers) => deliver(body, headers)),
      runs,
    );

    console.info(
      `hostile Event Grid: statuses ${JSON.stringify(Object.fromEntries(statuses))}, outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`,
    );
    // The generators reach every branch: host refusals, handshakes, and each of the function's verdicts.
    expect([...outcomes.keys()]).toEqual(
      expect.arrayContaining(['host-refused', 'handshake', 'rejected', 'ignored', 'pushed', 'deleted']),
    );
  });

  it('answers a validation handshake from anyone holding the system key, without running the function or writing', async () => {
    const before = await storage.snapshot();
    const stranger = [
      {
        id: 'stranger-1',
        topic: '/subscriptions/evil/resourceGroups/x/providers/Microsoft.EventGrid/topics/x',
        subject: '',
        eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
        eventTime: new Date().toISOString(),
        data: { validationCode: 'attacker-code', validationUrl: 'http://203.0.113.9/x' },
        dataVersion: '1',
      },
    ];

    const answered = await rawRequest(host.url, {
      method: 'POST',
      path: webhookPath(),
      headers: { 'content-type': 'application/json', 'aeg-event-type': 'SubscriptionValidation' },
      body: JSON.stringify(stranger),
    });
    const noCode = await rawRequest(host.url, {
      method: 'POST',
      path: webhookPath(),
      headers: { 'aeg-event-type': 'SubscriptionValidation' },
      body: JSON.stringify([{ ...stranger[0], data: { validationCode: 42 } }]),
    });

    // By design, as the real host: the handshake only proves the endpoint is reachable with the key.
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.text)).toEqual({ validationResponse: 'attacker-code' });
    expect(noCode.status).toBe(400);
    expect(host.output()).not.toContain('stranger-1');
    expect(changes(before, await storage.snapshot())).toEqual([]);
  });

  it('keeps the host process alive and serving', async () => {
    expect(host.child.exitCode).toBeNull();
    expect(host.child.signalCode).toBeNull();
    const health = await fetch(`${host.url}/api/health`);
    expect(health.status).toBe(200);
    expect(host.output()).not.toMatch(/Executed with error|request failed:/);
  });
});
