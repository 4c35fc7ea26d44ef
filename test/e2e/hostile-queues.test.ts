import fc from 'fast-check';
import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { alertMessageSchema } from '../../lib/alerts/service.js';
import { auditMessageSchema } from '../../lib/audit/images.js';
import { backfillMessageSchema } from '../../lib/policy/backfill-schedule.js';
import { trackingMessageSchema } from '../../lib/conversion/ports.js';
import { AppStorage, changes, fakeDigest, quietTimers, waitUntil, type StorageSnapshot } from '../support/hostile.js';
import { SandboxHarness, type HostProcess } from '../support/sandbox-harness.js';
import { decode, toTriggerValue } from '../../dev/host/queue-listener.js';

/**
 * Junk on every queue the app listens to, as anyone with queue access (or a bug upstream) could put there: random
 * base64, text that is not base64, JSON of the wrong shape, well-formed messages about nothing, and messages at
 * the 64 KiB queue limit. Each must be logged as rejected (or dropped as stale) and ACKed on the first delivery:
 * a retry would only fail again and end in `-poison`, paging the on-call for nothing.
 */
const seed = 20_261_210;
const perQueue = 45;
/** Largest message text a storage queue takes (64 KiB); base64 turns 3 bytes into 4 characters. */
const maxMessageChars = 64 * 1024;

interface Listener {
  readonly queue: 'tracking' | 'alerts' | 'backfill' | 'audits';
  readonly functionName: string;
  /** The stable prefix of the function's rejection line. */
  readonly rejected: string;
  /** What the function logs when a well-formed message points at nothing (unknown or stale). */
  readonly dropped: string;
  readonly schema: z.ZodType;
  /** Fields that make a message well-formed, so the generator also reaches past the schema. */
  readonly shaped: fc.Arbitrary<Record<string, unknown>>;
  /** Well-formed messages whose values are not valid storage keys (`/` is refused by the Table service). */
  readonly edge: readonly Record<string, unknown>[];
}

/** Strings a storage key must not hold (`/ \ # ?`, control characters), unicode, the huge and the empty. */
const keyJunk = fc.oneof(
  fc.constantFrom('a/b', '../sandbox', 'a\\b', 'a#b', 'a?b', 'a\tb', 'sandbox/', '%2F', "o'q", 'é😀', ' ', ''),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.stringMatching(/^[a-z0-9]{1,12}$/),
  fc.integer({ min: 60, max: 1_200 }).map((length) => 'k'.repeat(length)),
);
const anyValue = fc.oneof(keyJunk, fc.integer(), fc.constant(null), fc.boolean(), fc.jsonValue({ maxDepth: 2 }));
/** Never the configured registry: a well-formed backfill or audit of `sandbox` is real work, not junk. */
const notTheRegistry = keyJunk.filter((value) => value !== 'sandbox');

const listeners: readonly Listener[] = [
  {
    queue: 'tracking',
    functionName: 'trackConversion',
    rejected: 'tracking message rejected:',
    dropped: 'message dropped',
    schema: trackingMessageSchema,
    edge: [
      { kind: 'poll', registry: 'a/b', repository: 'team-a/app', digest: fakeDigest(1), token: 't' },
      { kind: 'start', registry: 'sandbox', repository: 'team-a/app', digest: 'sha256:a/b', token: 't' },
      { kind: 'poll', registry: 'sandbox', repository: 'a\\b#c?d', digest: fakeDigest(2), token: 't' },
    ],
    shaped: fc.record({
      kind: fc.constantFrom('start', 'poll', 'stop'),
      registry: fc.oneof(fc.constant('sandbox'), notTheRegistry),
      repository: fc.oneof(fc.constant('team-a/app'), keyJunk),
      digest: fc.oneof(fc.nat().map(fakeDigest), keyJunk),
      token: fc.oneof(fc.uuid(), keyJunk),
    }),
  },
  {
    queue: 'alerts',
    functionName: 'dispatchAlerts',
    rejected: 'alert message rejected:',
    dropped: 'alert message dropped:',
    schema: alertMessageSchema,
    edge: [
      { kind: 'dispatch', registry: 'a/b', eventId: 'x' },
      { kind: 'dispatch', registry: 'sandbox', eventId: 'conversion.failed:x/y@sha256:00:1' },
      { kind: 'deliver', channel: 'a/b', key: 'a'.repeat(32), token: 't' },
    ],
    shaped: fc.oneof(
      fc.record({
        kind: fc.constant('dispatch'),
        registry: fc.oneof(fc.constant('sandbox'), notTheRegistry),
        eventId: fc.oneof(fc.constant('conversion.failed:team-a:app@sha256:00:1'), keyJunk),
      }),
      fc.record({
        kind: fc.constant('deliver'),
        channel: fc.oneof(fc.constant('sandbox-webhook'), keyJunk),
        key: fc.oneof(fc.stringMatching(/^[a-f0-9]{32}$/), keyJunk),
        token: fc.oneof(fc.uuid(), keyJunk),
      }),
    ),
  },
  {
    queue: 'backfill',
    functionName: 'runBackfill',
    rejected: 'backfill message rejected:',
    // Every well-formed junk backfill names an unconfigured registry, which is a rejection too.
    dropped: 'backfill message rejected:',
    schema: backfillMessageSchema,
    edge: [
      { registry: 'a/b', scope: 'team-a/**', runId: 'r' },
      { registry: 'sandbox/x', scope: '**', runId: 'r', cursor: { repository: 'a/b' } },
    ],
    shaped: fc.record(
      {
        registry: notTheRegistry,
        scope: fc.oneof(fc.constantFrom('team-a/**', '_default', '[', '**/**/'), keyJunk),
        runId: fc.oneof(fc.uuid(), keyJunk),
        run: fc.oneof(fc.nat(5), anyValue),
        cursor: fc.oneof(fc.record({ repository: keyJunk, last: keyJunk }, { requiredKeys: [] }), anyValue),
      },
      { requiredKeys: ['registry', 'scope', 'runId'] },
    ),
  },
  {
    queue: 'audits',
    functionName: 'auditImages',
    rejected: 'audit message rejected:',
    dropped: 'audit message dropped:',
    schema: auditMessageSchema,
    edge: [{ registry: 'a/b', runId: '00000000-0000-4000-8000-000000000000', startedAt: '2026-01-01T00:00:00.000Z' }],
    shaped: fc.record(
      {
        registry: fc.oneof(notTheRegistry, fc.constant('sandbox')),
        runId: fc.oneof(fc.uuid(), keyJunk),
        startedAt: fc.oneof(
          fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((date) => date.toISOString()),
          keyJunk,
        ),
        part: fc.oneof(fc.nat(9), anyValue),
      },
      { requiredKeys: ['registry', 'runId', 'startedAt'] },
    ),
  },
];

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Queue message texts: what the host reads, before its base64 decoding. */
function messages(listener: Listener): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: listener.shaped.map((value) => base64(JSON.stringify(value))), weight: 6 },
    fc.jsonValue({ maxDepth: 4 }).map((value) => base64(JSON.stringify(value))),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('base64')),
    // Not base64 at all: mostly moved to the poison queue by the host, unread (the real queue extension's handling
    // of a message that does not decode; some happen to be valid base64 and reach the function).
    fc.string({
      unit: fc.constantFrom(...'abcXYZ019 !"#$%&\'()*+,-./:;<=>?@[]^_`{|}~é😀'.split('')),
      minLength: 1,
      maxLength: 200,
    }),
    fc.constantFrom(
      '{',
      '[]',
      'null',
      '""',
      base64(''),
      base64('{'),
      base64('[]'),
      base64('null'),
      base64('"just a string"'),
      base64('{"kind":"poll"}'),
      base64('{"__proto__":{"kind":"poll"}}'),
    ),
    // At the queue's limit: base64 JSON and raw text of exactly 64 KiB.
    fc
      .integer({ min: 40_000, max: 49_000 })
      .map((padding) => base64(JSON.stringify({ registry: 'sandbox', junk: 'j'.repeat(padding) }))),
    fc.constant('q'.repeat(maxMessageChars)),
  );
}

/** Whether the host hands the message to the function at all: only text that decodes as base64 (dev/host). */
const decodes = (text: string): boolean => decode(text, 'base64') !== undefined;

/** What the Node worker hands the handler: base64-decoded text, parsed as @azure/functions parses it. */
function triggerValue(text: string): unknown {
  return toTriggerValue(decode(text, 'base64') ?? '');
}

describe('queue triggers under junk messages', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;
  let storage: AppStorage;
  let before: StorageSnapshot;
  const sent = new Map<Listener['queue'], string[]>();

  const rejections = (listener: Listener): number =>
    host
      .output()
      .split('\n')
      .filter((line) => line.includes(`Function.${listener.functionName} (`) && line.includes(listener.rejected))
      .length;

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      settings: quietTimers,
    });
    host = await sandbox.startHost({ subscribe: false });
    storage = new AppStorage(inject('storageConnectionString'), sandbox.settings.STORAGE_PREFIX!);
    before = await storage.settle();

    for (const [index, listener] of listeners.entries()) {
      const texts = [
        ...fc.sample(messages(listener), { seed: seed + index, numRuns: perQueue }),
        ...listener.edge.map((value) => base64(JSON.stringify(value))),
      ];
      for (const text of texts) expect(text.length).toBeLessThanOrEqual(maxMessageChars);
      sent.set(listener.queue, texts);
      const queue = storage.queue(storage.names.queues[listener.queue]);
      for (const text of texts) await queue.sendMessage(text);
    }
    // Consumed means deleted: a failed message stays in the queue (invisible for visibilityTimeout) until poisoned.
    await waitUntil(
      async () => {
        if (/Executed with error/.test(host.output()))
          throw new Error(`a junk message made a function fail:\n${host.output().slice(-4_000)}`);
        const snapshot = await storage.snapshot();
        return listeners.every((listener) => snapshot.queues.get(storage.names.queues[listener.queue]) === 0);
      },
      () => `queues not drained:\n${host.output().slice(-3_000)}`,
      40_000,
      200,
    );
  });
  afterAll(() => sandbox.close());

  it.each(listeners.map((listener) => [listener.functionName, listener] as const))(
    '%s ACKs every junk message on first delivery, without failing',
    (_name, listener) => {
      const lines = host
        .output()
        .split('\n')
        .filter((line) => line.includes(`Function.${listener.functionName}`));

      expect(lines.filter((line) => line.includes('Executed with error'))).toEqual([]);
      expect(host.output()).not.toContain(`moved to ${storage.names.queues[listener.queue]}-poison`);
    },
  );

  it.each(listeners.map((listener) => [listener.functionName, listener] as const))(
    '%s logs every message its schema refuses, with the reason',
    async (_name, listener) => {
      const texts = (sent.get(listener.queue) ?? []).filter(decodes);
      const refused = texts.filter((text) => !listener.schema.safeParse(triggerValue(text)).success).length;

      // Reached both sides of the schema, so the well-formed-but-meaningless path was exercised too.
      expect(refused).toBeGreaterThan(perQueue / 4);
      expect(refused).toBeLessThan(texts.length);
      await waitUntil(
        () => rejections(listener) >= refused,
        () => `${listener.functionName}: ${rejections(listener)} rejection line(s), ${refused} expected`,
        10_000,
      );
      const reasons = host
        .output()
        .split('\n')
        .filter((line) => line.includes(listener.rejected))
        .map((line) => line.slice(line.indexOf(listener.rejected) + listener.rejected.length).trim());
      expect(reasons.every((reason) => reason.length > 0)).toBe(true);
    },
  );

  it.each(listeners.map((listener) => [listener.functionName, listener] as const))(
    '%s logs why it did nothing with every message its schema accepts',
    async (_name, listener) => {
      const texts = (sent.get(listener.queue) ?? []).filter(decodes);
      const accepted = texts.filter((text) => listener.schema.safeParse(triggerValue(text)).success).length;
      const lines = (): string[] =>
        host
          .output()
          .split('\n')
          .filter((line) => line.includes(`Function.${listener.functionName} (`));
      const explained = (): number =>
        lines().filter((line) => line.includes(listener.rejected) || line.includes(listener.dropped)).length;

      await waitUntil(
        () => explained() >= texts.length,
        () => `${listener.functionName}: ${explained()} explained of ${texts.length} (${accepted} well-formed)`,
        10_000,
      );
      expect(accepted).toBeGreaterThan(0);
    },
  );

  it('poisons only the messages that do not decode, saying so for each, and writes no table row', async () => {
    const after = await storage.snapshot();

    for (const listener of listeners) {
      const undecodable = (sent.get(listener.queue) ?? []).filter((text) => !decodes(text)).length;
      expect(undecodable, listener.queue).toBeGreaterThan(0);
      expect(after.queues.get(`${storage.names.queues[listener.queue]}-poison`), listener.queue).toBe(undecodable);
    }
    const warnings = host
      .output()
      .split('\n')
      .filter((line) => line.includes('Message decoding has failed!'));
    const undecodableInAll = [...sent.values()].flat().filter((text) => !decodes(text)).length;
    expect(warnings).toHaveLength(undecodableInAll);
    // The poison queues were counted above; nothing else changed.
    expect(changes(before, after).filter((change) => !/-poison: /.test(change))).toEqual([]);
  });

  it('keeps the host process alive and serving', async () => {
    expect(host.child.exitCode).toBeNull();
    expect(host.child.signalCode).toBeNull();
    expect((await fetch(`${host.url}/api/health`)).status).toBe(200);
  });
});
