import { describe, expect, it } from 'vitest';
import type { RegistrySettings } from '../../../../lib/core/registries.js';
import type { ConversionRecord } from '../../../../lib/conversion/record.js';
import { ConversionService, type RequestOptions } from '../../../../lib/conversion/service.js';
import { silentLogger as log } from '../../../../lib/core/logging.js';
import { metricPrefix } from '../../../../lib/core/metrics.js';
import { configPolicySource } from '../../../../lib/policy/config-source.js';
import { policySchema, type PolicyInput } from '../../../../lib/policy/model.js';
import { AcrError } from '../../../../lib/core/errors.js';
import { ManualClock } from '../../../support/fakes/clock.js';
import { InMemoryConversionStore } from '../../../support/fakes/conversion-store.js';
import { InMemoryOutbox } from '../../../support/fakes/outbox.js';
import { digestOf, dockerImage, ScriptedRegistry } from '../../../support/fakes/registry.js';
import { RecordingTrackingQueue, type SentMessage } from '../../../support/fakes/tracking-queue.js';

const contoso: RegistrySettings = {
  name: 'contoso',
  loginServer: 'contoso.azurecr.io',
  resourceId: '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contoso',
  auth: { type: 'identity' },
};
const settings = { firstPollSeconds: 10, maxPollSeconds: 120, leaseSeconds: 300, quietSeconds: 600 };
const repository = 'team-a/app';
const digest = digestOf('app-1');
const key = { registry: contoso.name, repository, digest };
const unknownError = {
  status: 'Failed',
  details: 'UNKNOWN_ERROR: Conversion operation failed due to an unknown error',
} as const;

function setup(policy: PolicyInput = {}) {
  const clock = new ManualClock('2026-03-01T12:00:00.000Z');
  const store = new InMemoryConversionStore();
  const outbox = new InMemoryOutbox();
  const queue = new RecordingTrackingQueue();
  const registry = new ScriptedRegistry().addImage(digest, dockerImage());
  const service = new ConversionService({
    registries: [contoso],
    gateway: () => registry,
    store,
    outbox,
    queue,
    policies: configPolicySource(policySchema.parse({ mode: 'onPush', deadlineMinutes: 60, ...policy })),
    readiness: () => Promise.resolve({ ready: true }),
    settings,
    clock,
    random: () => 0.5, // no jitter: delays are exact
  });
  /** Delivers the oldest waiting tracking message once its delay has passed. */
  async function deliver(): Promise<SentMessage> {
    const next = queue.take();
    clock.advance(next.delaySeconds);
    await service.track(next.message, log);
    return next;
  }
  const current = (): ConversionRecord => {
    const record = store.get(key);
    if (record === undefined) throw new Error('no conversion record');
    return record;
  };
  return { clock, store, outbox, queue, registry, service, deliver, current };
}

function pushed(
  options: { tag?: string; eventId?: string; topic?: string; eventType?: string; eventTime?: string } = {},
): unknown {
  return {
    id: options.eventId ?? 'evt-1',
    topic: options.topic ?? contoso.resourceId,
    subject: `${repository}:${options.tag ?? '1.0'}`,
    eventType: options.eventType ?? 'Microsoft.ContainerRegistry.ImagePushed',
    eventTime: options.eventTime ?? '2026-03-01T12:00:00Z',
    data: {
      id: options.eventId ?? 'evt-1',
      action: 'push',
      target: {
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        digest,
        repository,
        tag: options.tag ?? '1.0',
      },
    },
  };
}

function deleted(options: { eventId?: string; eventTime?: string } = {}): unknown {
  return {
    id: options.eventId ?? 'evt-del',
    topic: contoso.resourceId,
    eventType: 'Microsoft.ContainerRegistry.ImageDeleted',
    ...(options.eventTime === undefined ? {} : { eventTime: options.eventTime }),
    data: { target: { digest, repository } },
  };
}

const byEvent: RequestOptions = { source: 'event', tags: ['1.0'] };

function seeded(overrides: Partial<ConversionRecord> & Pick<ConversionRecord, 'digest' | 'status'>): ConversionRecord {
  return {
    registry: contoso.name,
    repository,
    tags: ['1.0'],
    reason: 'eligible',
    source: 'event',
    attempts: 1,
    maxAttempts: 3,
    polls: 0,
    createdAt: '2026-03-01T11:00:00.000Z',
    updatedAt: '2026-03-01T11:00:00.000Z',
    ...overrides,
  };
}

describe('ConversionService: starting', () => {
  it('starts an eligible push once and schedules the first poll', async () => {
    const { service, registry, queue, current } = setup();

    const outcome = await service.handleEvent(pushed(), log);

    expect(outcome).toBe('Running');
    expect(registry.calls.startStreamingConversion).toBe(1);
    expect(current()).toMatchObject({
      status: 'Running',
      operationId: 'op-1',
      attempts: 1,
      polls: 0,
      tags: ['1.0'],
      lastEventId: 'evt-1',
      nextCheckAt: '2026-03-01T12:00:10.000Z',
    });
    expect(current().leaseUntil).toBeUndefined();
    expect(queue.sent).toEqual([
      { message: { kind: 'poll', ...key, token: current().trackingToken }, delaySeconds: 10 },
    ]);
  });

  it('does not start again for a duplicate event while running', async () => {
    const { service, registry, queue } = setup();
    await service.handleEvent(pushed(), log);

    const outcome = await service.handleEvent(pushed({ eventId: 'evt-1' }), log);

    expect(outcome).toBe('duplicate');
    expect(registry.calls.startStreamingConversion).toBe(1);
    expect(queue.sent).toHaveLength(1);
  });

  it('starts exactly one conversion when two requests for the digest race (the ETag claim)', async () => {
    const { service, registry, current } = setup();

    const outcomes = await Promise.all([
      service.request(key, byEvent, log),
      service.request(key, { source: 'event', tags: ['latest'] }, log),
    ]);

    // The loser reads the row again (issue #14, scenario 3) and finds the winner's claim.
    expect(outcomes.sort()).toEqual(['Running', 'duplicate']);
    expect(registry.calls.startStreamingConversion).toBe(1);
    expect(current()).toMatchObject({ status: 'Running', attempts: 1 });
  });

  it.each([
    ['the excluded tag first', ['latest', 'v1.0']],
    ['the included tag first', ['v1.0', 'latest']],
  ])(
    'scenario 3: two tags of one digest pushed at once, the policy including one: it converts (%s)',
    async (_order, tags) => {
      const { service, registry, current } = setup({ tags: { include: ['v*'], exclude: [] } });

      const outcomes = await Promise.all(
        tags.map((tag, index) => service.request(key, { source: 'event', tags: [tag], eventId: `evt-${index}` }, log)),
      );

      expect(outcomes).toContain('Running');
      expect(registry.calls.startStreamingConversion).toBe(1);
      expect(current()).toMatchObject({ status: 'Running', attempts: 1 });
      expect(current().tags).toContain('v1.0');
    },
  );

  it('scenario 3: a lost conditional write reads the row again and decides again, at most a few times', async () => {
    const { service, store, registry } = setup();
    const other = (n: number) => () =>
      store.seed(
        seeded({
          digest,
          status: 'Skipped',
          tags: [],
          reason: 'another worker',
          updatedAt: `2026-03-01T12:0${n}:00.000Z`,
        }),
      );
    for (let n = 0; n < 5; n++) store.interfereBeforeNextWrite(other(n));

    await expect(service.request(key, byEvent, log)).rejects.toThrow(/kept changing while deciding \(5 times\)/);
    expect(registry.calls.getManifest).toBe(1);
    expect(registry.calls.startStreamingConversion).toBe(0);
  });

  it('records Succeeded without starting when the streaming referrer already exists', async () => {
    const { service, registry, outbox, queue, current } = setup();
    registry.addReferrer(digest);

    const outcome = await service.handleEvent(pushed(), log);

    expect(outcome).toBe('Succeeded');
    expect(registry.calls.startStreamingConversion).toBe(0);
    expect(current()).toMatchObject({
      status: 'Succeeded',
      reason: 'the streaming artifact already exists',
      attempts: 0,
    });
    expect(outbox.events.map((event) => event.type)).toEqual(['conversion.succeeded']);
    expect(queue.sent).toEqual([]);
  });

  it('adopts a conversion already running on the registry instead of requesting another', async () => {
    const { service, registry, queue, current } = setup();
    registry.addOperation(digest, 'acr-started', { steps: ['Running'] });

    const outcome = await service.handleEvent(pushed(), log);

    expect(outcome).toBe('Running');
    expect(registry.calls.startStreamingConversion).toBe(0);
    expect(current()).toMatchObject({
      status: 'Running',
      operationId: 'acr-started',
      operationStatus: 'Running',
      attempts: 1,
    });
    expect(queue.sent.map((sent) => sent.message.kind)).toEqual(['poll']);
  });

  /** ACR answering the start with 409, as it may when a conversion of the digest began after we looked. */
  function conflictOnStart(registry: ScriptedRegistry, running?: { id: string }): void {
    registry.startStreamingConversion = () => {
      if (running) registry.addOperation(digest, running.id, { steps: ['Running', 'Succeeded'] });
      return Promise.reject(
        new AcrError('could not start the conversion: POST … answered 409 CONFLICT', {
          status: 409,
          code: 'CONFLICT',
          correlationId: undefined,
          method: 'POST',
          path: `/acr/v1/${repository}/_streaming/${digest}`,
        }),
      );
    };
  }

  it('scenario 8: a 404 for the manifest soon after its push is replication lag: rethrown, nothing recorded', async () => {
    const { service, registry, store, clock, current } = setup();
    registry.removeImage(digest);
    clock.advance(30);

    await expect(service.handleEvent(pushed(), log)).rejects.toThrow(/not visible yet \(30 s after its push\)/);
    const recorded = store.size;
    registry.addImage(digest, dockerImage());
    clock.advance(10);
    const redelivered = await service.handleEvent(pushed(), log);

    expect(recorded).toBe(0);
    expect(redelivered).toBe('Running');
    expect(current()).toMatchObject({ status: 'Running', platforms: 'linux/amd64' });
  });

  it('scenario 8: a 404 for the metadata soon after the push is retried, not decided as an unknown platform', async () => {
    const { service, registry, store } = setup();
    registry.addImage(digest, { manifest: dockerImage().manifest });

    await expect(service.handleEvent(pushed(), log)).rejects.toThrow(/metadata is not visible yet/);
    expect(store.size).toBe(0);
  });

  it('scenario 8: a push time from the future is not trusted: the 404 means gone', async () => {
    const { service, registry } = setup();
    registry.removeImage(digest);

    expect(await service.handleEvent(pushed({ eventTime: '+153128-05-19T11:07:06.996Z' }), log)).toBe('gone');
    expect(await service.handleEvent(pushed({ eventTime: '2026-03-01T13:00:00Z' }), log)).toBe('gone');
  });

  it('scenario 8: a 404 long after the push means the image is gone', async () => {
    const { service, registry, store, clock } = setup();
    registry.removeImage(digest);
    clock.advance(3_600);

    expect(await service.handleEvent(pushed(), log)).toBe('gone');
    expect(store.size).toBe(0);
  });

  it('scenario 8: a 409 to the start adopts the conversion already in progress, and it finishes', async () => {
    const { service, registry, deliver, current } = setup();
    conflictOnStart(registry, { id: 'op-acr' });

    const outcome = await service.handleEvent(pushed(), log);
    const running = current();
    await deliver();
    await deliver();

    expect(outcome).toBe('Running');
    expect(running).toMatchObject({ status: 'Running', operationId: 'op-acr', attempts: 1 });
    expect(current()).toMatchObject({ status: 'Succeeded', operationId: 'op-acr' });
  });

  it('scenario 8: a 409 with nothing running is retried shortly, not recorded as a failure', async () => {
    const { service, registry, queue, current } = setup();
    conflictOnStart(registry);

    const outcome = await service.handleEvent(pushed(), log);

    expect(outcome).toBe('Pending');
    expect(current()).toMatchObject({ status: 'Pending', attempts: 0 });
    expect(current().lastErrorCode).toBeUndefined();
    expect(queue.last()?.message.kind).toBe('start');
  });

  it('fails at once when the start is denied with a reason (403 DENIED, SKU_NOT_SUPPORTED)', async () => {
    const { service, registry, outbox, queue, current } = setup();
    registry.failNext(
      'startStreamingConversion',
      new AcrError('could not start the conversion', {
        status: 403,
        code: 'DENIED',
        reason: 'SKU_NOT_SUPPORTED',
        correlationId: 'corr-1',
        method: 'POST',
        path: '/acr/v1/team-a/app/_streaming',
      }),
    );

    const outcome = await service.handleEvent(pushed(), log);

    expect(outcome).toBe('Failed');
    expect(current()).toMatchObject({ status: 'Failed', lastErrorCode: 'SKU_NOT_SUPPORTED', correlationId: 'corr-1' });
    expect(current().remediation).toMatch(/Premium/);
    expect(outbox.ofType('conversion.failed')).toMatchObject([{ errorCode: 'SKU_NOT_SUPPORTED' }]);
    expect(queue.sent).toEqual([]);
  });

  it('answers a transient start error with its own prompt retry instead of waiting for Event Grid', async () => {
    const { service, registry, queue, deliver, current } = setup();
    const unavailable = new AcrError('service unavailable', {
      status: 503,
      code: 'UNAVAILABLE',
      correlationId: undefined,
      method: 'POST',
      path: '/acr/v1/team-a/app/_streaming',
    });
    registry.failNext('startStreamingConversion', unavailable);

    const outcome = await service.handleEvent(pushed(), log);
    const afterFailure = current();
    const duplicate = await service.handleEvent(pushed(), log);
    await deliver();

    expect(outcome).toBe('Pending');
    expect(afterFailure).toMatchObject({ status: 'Pending', attempts: 0 });
    expect(afterFailure.leaseUntil).toBeUndefined();
    expect(queue.sent[0]).toMatchObject({ message: { kind: 'start' }, delaySeconds: 5 });
    expect(duplicate).toBe('duplicate');
    expect(registry.calls.startStreamingConversion).toBe(2);
    expect(current()).toMatchObject({ status: 'Running', operationId: 'op-1', attempts: 1 });
  });

  it('still rethrows what is not an ACR answer (storage, bugs) so the platform redelivers', async () => {
    const { service, registry, current } = setup();
    const broken = new Error('socket hang up');
    registry.failNext('startStreamingConversion', broken);

    await expect(service.handleEvent(pushed(), log)).rejects.toBe(broken);

    expect(current().leaseUntil).toBeUndefined();
    expect(await service.handleEvent(pushed(), log)).toBe('Running');
  });
});

describe('ConversionService: tracking', () => {
  it('re-polls a running operation with growing delays and a new token each time', async () => {
    const { service, queue, deliver, current } = setup();
    await service.handleEvent(pushed(), log);
    const tokens = [current().trackingToken];

    for (let poll = 0; poll < 5; poll++) {
      await deliver();
      tokens.push(current().trackingToken);
    }

    expect(queue.sent.map((sent) => sent.delaySeconds)).toEqual([10, 20, 40, 80, 120, 120]);
    expect(new Set(tokens).size).toBe(6);
    expect(queue.waiting).toHaveLength(1);
    expect(current()).toMatchObject({ status: 'Running', polls: 5, operationStatus: 'Running' });
  });

  it('drops a message whose token is no longer current', async () => {
    const { service, registry, queue, deliver, current } = setup();
    await service.handleEvent(pushed(), log);
    const first = await deliver();
    const before = current();

    await service.track(first.message, log);

    expect(current()).toEqual(before);
    expect(queue.sent).toHaveLength(2);
    expect(registry.calls.getOperation).toBe(1);
  });

  it('drops a malformed tracking message', async () => {
    const { service, registry, store } = setup();

    await service.track({ kind: 'poll', registry: contoso.name, repository, digest, token: '', extra: true }, log);

    expect(store.size).toBe(0);
    expect(registry.calls.getOperation).toBe(0);
  });

  it('records Succeeded and a conversion.succeeded event once ACR succeeds and the referrer exists', async () => {
    const { service, registry, outbox, queue, deliver, current } = setup();
    registry.scriptNextStart({ steps: ['Running', { status: 'Succeeded', progress: '100%' }] });
    await service.handleEvent(pushed(), log);

    await deliver();
    await deliver();

    expect(current()).toMatchObject({
      status: 'Succeeded',
      operationStatus: 'Succeeded',
      progress: '100%',
      reason: 'streaming artifact created',
      completedAt: '2026-03-01T12:00:30.000Z',
    });
    expect(current().trackingToken).toBeUndefined();
    expect(current().nextCheckAt).toBeUndefined();
    expect(outbox.events).toMatchObject([
      { type: 'conversion.succeeded', status: 'Succeeded', operationId: 'op-1', tag: '1.0', attempts: 1, ...key },
    ]);
    expect(queue.waiting).toEqual([]);
  });

  it('re-checks the referrer three times after Succeeded, then retries with REFERRER_MISSING', async () => {
    const { service, registry, queue, deliver, current } = setup();
    registry.scriptNextStart({ steps: ['Succeeded'], attachReferrer: false });
    await service.handleEvent(pushed(), log);

    for (let check = 0; check < 4; check++) await deliver();

    expect(registry.calls.getOperation).toBe(4);
    expect(current()).toMatchObject({ status: 'Pending', lastErrorCode: 'REFERRER_MISSING', attempts: 1 });
    expect(queue.last()).toEqual({
      message: { kind: 'start', ...key, token: current().trackingToken },
      delaySeconds: 60,
    });
  });

  it('still re-checks the referrer after a long conversion that needed many polls', async () => {
    const { service, registry, queue, deliver, current } = setup();
    registry.scriptNextStart({
      steps: ['Running', 'Running', 'Running', 'Running', 'Succeeded'],
      attachReferrer: false,
    });
    await service.handleEvent(pushed(), log);
    for (let poll = 0; poll < 5; poll++) await deliver();
    const afterSucceeded = current();

    registry.addReferrer(digest); // the referrer shows up a little after ACR reports Succeeded
    await deliver();

    expect(afterSucceeded).toMatchObject({ status: 'Running', operationStatus: 'Succeeded' });
    expect(afterSucceeded.lastErrorCode).toBeUndefined();
    expect(queue.sent.map((sent) => sent.message.kind)).not.toContain('start');
    expect(current()).toMatchObject({ status: 'Succeeded', reason: 'streaming artifact created', attempts: 1 });
    expect(current().lastErrorCode).toBeUndefined();
  });

  it('retries an unknown error up to maxAttempts, then fails with the operation id, reporting once', async () => {
    const { service, registry, outbox, queue, deliver, current } = setup({
      retry: { maxAttempts: 3, initialDelaySeconds: 60, maxDelaySeconds: 3_600 },
    });
    registry.defaultScript = { steps: [unknownError] };
    await service.handleEvent(pushed(), log);

    await deliver(); // poll: attempt 1 failed
    const afterFirst = current();
    const firstRetry = queue.last();
    await deliver(); // start attempt 2
    await deliver(); // poll: attempt 2 failed
    const secondRetry = queue.last();
    await deliver(); // start attempt 3
    const lastPoll = await deliver(); // poll: attempt 3 failed, final
    await service.track(lastPoll.message, log); // the same message delivered again

    expect(afterFirst).toMatchObject({ status: 'Pending', lastErrorCode: 'UNKNOWN_ERROR', attempts: 1 });
    expect(firstRetry).toMatchObject({ message: { kind: 'start' }, delaySeconds: 60 });
    expect(secondRetry).toMatchObject({ message: { kind: 'start' }, delaySeconds: 120 });
    expect(registry.calls.startStreamingConversion).toBe(3);
    expect(current()).toMatchObject({
      status: 'Failed',
      attempts: 3,
      operationId: 'op-3',
      lastErrorCode: 'UNKNOWN_ERROR',
    });
    expect(current().remediation).toContain('op-3');
    expect(outbox.ofType('conversion.failed')).toHaveLength(1);
    expect(outbox.events).toMatchObject([
      { type: 'conversion.failed', errorCode: 'UNKNOWN_ERROR', operationId: 'op-3', attempts: 3 },
    ]);
    expect(outbox.events[0]?.remediation).toContain('op-3');
    expect(queue.waiting).toEqual([]);
  });

  it('records one conversion.failed when the final poll message is processed twice at once', async () => {
    const { service, registry, outbox, queue, clock, current } = setup({
      retry: { maxAttempts: 1, initialDelaySeconds: 60, maxDelaySeconds: 3_600 },
    });
    registry.defaultScript = { steps: [unknownError] };
    await service.handleEvent(pushed(), log);
    const poll = queue.take();
    clock.advance(poll.delaySeconds);

    await Promise.all([service.track(poll.message, log), service.track(poll.message, log)]);

    expect(current().status).toBe('Failed');
    expect(outbox.ofType('conversion.failed')).toHaveLength(1);
  });

  it('fails a permanent error at once without retrying', async () => {
    const { service, registry, outbox, queue, deliver, current } = setup();
    registry.scriptNextStart({
      steps: [{ status: 'Failed', details: 'UNSUPPORTED_PLATFORM: The image platform windows/amd64 is not supported' }],
    });
    await service.handleEvent(pushed(), log);

    await deliver();

    expect(current()).toMatchObject({ status: 'Failed', lastErrorCode: 'UNSUPPORTED_PLATFORM', attempts: 1 });
    expect(current().remediation).toMatch(/linux\/amd64/);
    expect(registry.calls.startStreamingConversion).toBe(1);
    expect(queue.waiting).toEqual([]);
    expect(outbox.ofType('conversion.failed')).toMatchObject([{ errorCode: 'UNSUPPORTED_PLATFORM' }]);
  });

  it('scenario 8: keeps a status ACR has never reported verbatim and polls on until a known one', async () => {
    const { service, registry, deliver, current } = setup();
    registry.scriptNextStart({ steps: ['Running', 'Throttled', 'Throttled', 'Succeeded'] });
    await service.handleEvent(pushed(), log);

    await deliver();
    await deliver();
    const unknown = current();
    await deliver();
    await deliver();

    expect(unknown).toMatchObject({ status: 'Running', operationStatus: 'Throttled' });
    expect(current()).toMatchObject({ status: 'Succeeded' });
  });

  it('scenario 8: polls an unknown status only until the deadline, then records TimedOut', async () => {
    const { service, registry, queue, clock, current } = setup({ deadlineMinutes: 5 });
    registry.scriptNextStart({ steps: ['Paused'] });
    await service.handleEvent(pushed(), log);

    while (queue.waiting.length > 0 && current().status === 'Running') {
      const next = queue.take();
      clock.advance(next.delaySeconds);
      await service.track(next.message, log);
    }

    expect(current()).toMatchObject({ status: 'TimedOut', operationStatus: 'Paused' });
  });

  it('cancels at the deadline and records TimedOut', async () => {
    const { service, registry, outbox, clock, deliver, current } = setup({ deadlineMinutes: 5 });
    await service.handleEvent(pushed(), log);

    clock.advance(5 * 60);
    await deliver();

    expect(registry.isCanceled('op-1')).toBe(true);
    expect(current()).toMatchObject({ status: 'TimedOut', lastErrorCode: 'TIMED_OUT' });
    expect(outbox.events).toMatchObject([{ type: 'conversion.timedOut', status: 'TimedOut', operationId: 'op-1' }]);
  });

  it('starts over when the operation has vanished, as a retried attempt', async () => {
    const { service, registry, queue, deliver, current } = setup();
    registry.addOperation(digest, 'vanishing', { steps: ['Running'] });
    await service.handleEvent(pushed(), log);
    const adopted = current().operationId;
    registry.removeOperation('vanishing');

    await deliver();
    expect(current()).toMatchObject({ status: 'Pending', lastErrorCode: 'OPERATION_UNKNOWN' });
    await deliver();

    expect(adopted).toBe('vanishing');
    expect(queue.sent.map((sent) => [sent.message.kind, sent.delaySeconds])).toEqual([
      ['poll', 10],
      ['start', 60],
      ['poll', 10],
    ]);
    expect(current()).toMatchObject({ status: 'Running', operationId: 'op-1', attempts: 2 });
  });

  it('gives up on operations ACR keeps forgetting once the attempts are used', async () => {
    const { service, registry, deliver, current } = setup({
      retry: { maxAttempts: 1, initialDelaySeconds: 60, maxDelaySeconds: 3_600 },
    });
    registry.addOperation(digest, 'vanishing', { steps: ['Running'] });
    await service.handleEvent(pushed(), log);
    registry.removeOperation('vanishing');

    await deliver();

    expect(current()).toMatchObject({ status: 'Failed', lastErrorCode: 'OPERATION_UNKNOWN', attempts: 1 });
  });
});

describe('ConversionService: sweeper', () => {
  it('re-drives a quiet Running conversion and an abandoned Pending one, leaving a healthy one alone', async () => {
    const { service, store, registry, queue, clock, deliver } = setup();
    const now = clock.now().getTime();
    const iso = (secondsFromNow: number): string => new Date(now + secondsFromNow * 1_000).toISOString();
    const quiet = seeded({
      digest: digestOf('quiet'),
      status: 'Running',
      operationId: 'op-quiet',
      trackingToken: 'lost',
      nextCheckAt: iso(-601),
    });
    const abandoned = seeded({ digest: digestOf('abandoned'), status: 'Pending', attempts: 0, leaseUntil: iso(-1) });
    const healthy = seeded({
      digest: digestOf('healthy'),
      status: 'Running',
      operationId: 'op-healthy',
      trackingToken: 'fine',
      nextCheckAt: iso(-599),
    });
    const leased = seeded({ digest: digestOf('leased'), status: 'Pending', attempts: 0, leaseUntil: iso(60) });
    for (const record of [quiet, abandoned, healthy, leased]) store.seed(record);

    registry.addOperation(quiet.digest, 'op-quiet', { steps: ['Running'] });

    const redriven = await service.sweep(log);

    expect(redriven).toBe(2);
    const quietNow = store.get(quiet)!;
    const abandonedNow = store.get(abandoned)!;
    expect(quietNow.trackingToken).not.toBe('lost');
    expect(queue.sent).toEqual(
      expect.arrayContaining([
        {
          message: {
            kind: 'poll',
            registry: contoso.name,
            repository,
            digest: quiet.digest,
            token: quietNow.trackingToken,
          },
          delaySeconds: 0,
        },
        {
          message: {
            kind: 'start',
            registry: contoso.name,
            repository,
            digest: abandoned.digest,
            token: abandonedNow.trackingToken,
          },
          delaySeconds: 0,
        },
      ]),
    );
    expect(queue.sent).toHaveLength(2);
    expect(store.get(healthy)).toEqual(healthy);
    expect(store.get(leased)).toEqual(leased);

    await deliver();
    await deliver();
    expect(store.get(quiet)).toMatchObject({ status: 'Running', operationId: 'op-quiet', polls: 1 });
    expect(store.get(abandoned)).toMatchObject({ status: 'Running', operationId: 'op-1', attempts: 1 });
  });
});

describe('ConversionService: lifecycle', () => {
  it('marks a deleted image Deleted, and converts it again when the digest is pushed again', async () => {
    const { service, registry, queue, deliver, current } = setup();
    registry.scriptNextStart({ steps: ['Succeeded'] });
    await service.handleEvent(pushed(), log);
    await deliver();
    registry.removeImage(digest);

    const deletion = await service.handleEvent(deleted(), log);
    const afterDeletion = current();
    registry.addImage(digest, dockerImage());
    const repush = await service.handleEvent(pushed({ eventId: 'evt-2' }), log);

    expect(deletion).toBe('deleted');
    expect(afterDeletion).toMatchObject({ status: 'Deleted', lastEventId: 'evt-del' });
    expect(repush).toBe('Running');
    expect(registry.calls.startStreamingConversion).toBe(2);
    expect(current()).toMatchObject({ status: 'Running', operationId: 'op-2', attempts: 1, lastEventId: 'evt-2' });
    expect(current().completedAt).toBeUndefined();
    expect(queue.last()?.message.token).toBe(current().trackingToken);
  });

  it('scenario 6: ignores a delete event for an image ACR still serves (late or forged), changing nothing', async () => {
    const { service, registry, current } = setup();
    await service.handleEvent(pushed(), log);
    const running = current();

    const outcome = await service.handleEvent(deleted(), log);

    expect(outcome).toBe('ignored');
    expect(current()).toEqual(running);
    expect(registry.calls.getManifest).toBe(2);
  });

  it('scenario 6: records a verified delete even when another worker wrote the row in between', async () => {
    const { service, registry, store, deliver, current } = setup();
    registry.scriptNextStart({ steps: ['Succeeded'] });
    await service.handleEvent(pushed(), log);
    await deliver();
    registry.removeImage(digest);
    store.interfereBeforeNextWrite(() => store.seed({ ...current(), updatedAt: '2026-03-01T12:00:01.000Z' }));

    const outcome = await service.handleEvent(deleted(), log);

    expect(outcome).toBe('deleted');
    expect(current()).toMatchObject({ status: 'Deleted', lastEventId: 'evt-del' });
    expect(registry.calls.getManifest).toBe(2); // verified once, not again after the conflict
  });

  describe("issue #17 §5: events older than the row's last one (Event Grid: out of order, again for up to 24 h)", () => {
    // learn.microsoft.com/azure/event-grid/delivery-and-retry: "Event Grid doesn't guarantee order for event
    // delivery, so subscribers may receive them out of order"; a failed delivery is retried until the event's
    // time-to-live (1 day by default) runs out.
    const t1 = '2026-03-01T12:00:00.000Z';
    const t2 = '2026-03-01T12:00:30.000Z';
    const t3 = '2026-03-01T12:01:00.000Z';

    /** Pushed at t1, converted, deleted at t2 (ACR answers 404): the row is Deleted as of t2. */
    async function deletedAtT2() {
      const ctx = setup();
      ctx.registry.scriptNextStart({ steps: ['Succeeded'] });
      await ctx.service.handleEvent(pushed({ eventId: 'evt-t1', eventTime: t1 }), log);
      await ctx.deliver();
      ctx.registry.removeImage(digest);
      ctx.clock.set('2026-03-01T12:00:31.000Z');
      expect(await ctx.service.handleEvent(deleted({ eventId: 'evt-t2', eventTime: t2 }), log)).toBe('deleted');
      return ctx;
    }

    it('a push older than the delete the row acted on does not resurrect it (the digest is served again)', async () => {
      const { service, registry, clock, current } = await deletedAtT2();
      // Pushed again at t3; that event is still on its way when t1's push is delivered again.
      registry.addImage(digest, dockerImage());
      clock.set('2026-03-01T12:01:05.000Z');

      const stale = await service.handleEvent(pushed({ eventId: 'evt-t1', eventTime: t1 }), log);
      const afterStale = current();
      const fresh = await service.handleEvent(pushed({ eventId: 'evt-t3', eventTime: t3, tag: '2.0' }), log);

      expect(stale).toBe('stale');
      expect(afterStale).toMatchObject({ status: 'Deleted', lastEventId: 'evt-t2', lastEventTime: t2 });
      expect(fresh).toBe('Running');
      expect(current()).toMatchObject({ status: 'Running', lastEventId: 'evt-t3', lastEventTime: t3 });
      expect(registry.calls.startStreamingConversion).toBe(2);
    });

    it('a delete older than the push that re-created the row does not delete it, even when ACR answers 404', async () => {
      const { service, registry, clock, current } = await deletedAtT2();
      registry.addImage(digest, dockerImage());
      clock.set('2026-03-01T12:01:05.000Z');
      await service.handleEvent(pushed({ eventId: 'evt-t3', eventTime: t3 }), log);
      const running = current();
      // A replica that has not caught up with the re-push answers 404 (docs/assumptions.md A2).
      registry.removeImage(digest);
      const manifestReads = registry.calls.getManifest;

      const outcome = await service.handleEvent(deleted({ eventId: 'evt-t2', eventTime: t2 }), log);

      expect(outcome).toBe('stale');
      expect(current()).toEqual(running);
      expect(registry.calls.getManifest).toBe(manifestReads); // decided from the row, ACR not asked
    });

    it('a delete whose write loses to the re-push reads the row again and finds itself stale', async () => {
      const { service, registry, store, clock, current } = setup();
      registry.scriptNextStart({ steps: ['Succeeded'] });
      await service.handleEvent(pushed({ eventId: 'evt-t1', eventTime: t1 }), log);
      registry.removeImage(digest);
      clock.set('2026-03-01T12:01:05.000Z');
      // Another instance records the re-push of t3 between this delete's check of ACR and its write.
      const repushed = { ...current(), status: 'Pending' as const, lastEventId: 'evt-t3', lastEventTime: t3 };
      store.interfereBeforeNextWrite(() => store.seed(repushed));

      const outcome = await service.handleEvent(deleted({ eventId: 'evt-t2', eventTime: t2 }), log);

      expect(outcome).toBe('stale');
      expect(current()).toEqual(repushed);
    });

    it.each(['Succeeded', 'Failed'] as const)(
      'a push delivered again after the row ended %s does not start it again',
      async (status) => {
        const { service, registry, deliver, current } = setup({
          retry: { maxAttempts: 1, initialDelaySeconds: 60, maxDelaySeconds: 3_600 },
        });
        registry.scriptNextStart({ steps: [status === 'Succeeded' ? 'Succeeded' : unknownError] });
        await service.handleEvent(pushed({ eventId: 'evt-t1', eventTime: t1 }), log);
        await deliver();
        const ended = current();

        const outcome = await service.handleEvent(pushed({ eventId: 'evt-t1', eventTime: t1 }), log);

        expect(ended.status).toBe(status);
        expect(outcome).toBe('duplicate');
        expect(current()).toEqual(ended);
        expect(registry.calls.startStreamingConversion).toBe(1);
      },
    );
  });

  it('records a delete of an image it never saw as nothing to do', async () => {
    const { service, store } = setup();

    const outcome = await service.handleEvent(deleted(), log);

    expect(outcome).toBe('deleted');
    expect(store.size).toBe(0);
  });

  it('reconsiders a skipped image when a new tag matches the policy', async () => {
    const { service, registry, current } = setup({ tags: { include: ['v*'], exclude: [] } });

    const first = await service.handleEvent(pushed({ tag: 'latest' }), log);
    const skippedRecord = current();
    const sameTag = await service.handleEvent(pushed({ tag: 'latest', eventId: 'evt-2' }), log);
    const released = await service.handleEvent(pushed({ tag: 'v1.0', eventId: 'evt-3' }), log);

    expect(first).toBe('skipped');
    expect(skippedRecord).toMatchObject({ status: 'Skipped', skipReason: 'tag-not-included' });
    expect(sameTag).toBe('duplicate');
    expect(released).toBe('Running');
    expect(current()).toMatchObject({ status: 'Running', tags: ['latest', 'v1.0'] });
    expect(current().skipReason).toBeUndefined();
    expect(registry.calls.startStreamingConversion).toBe(1);
  });

  it('scenario 2: a restart by hand that fails again records a second failure event, not a repeat of the first', async () => {
    const { service, registry, outbox, deliver, current } = setup({
      retry: { maxAttempts: 1, initialDelaySeconds: 60, maxDelaySeconds: 3_600 },
    });
    registry.scriptNextStart({ steps: [unknownError] }, { steps: [unknownError] });
    await service.handleEvent(pushed(), log);
    await deliver();
    const firstRun = current().generation;

    await service.request(key, { source: 'manual', tags: [], manual: true }, log);
    await deliver();

    const failures = outbox.ofType('conversion.failed');
    expect(failures).toHaveLength(2);
    expect(new Set(failures.map((event) => event.id)).size).toBe(2);
    expect(failures.map((event) => event.generation)).toEqual([firstRun, current().generation]);
    expect(current().generation).not.toBe(firstRun);
  });

  it('scenario 2: retries inside one run keep its id; a re-push after a delete starts a new run', async () => {
    const { service, registry, deliver, current } = setup({
      retry: { maxAttempts: 2, initialDelaySeconds: 60, maxDelaySeconds: 3_600 },
    });
    registry.scriptNextStart({ steps: [unknownError] }, { steps: ['Succeeded'] });
    await service.handleEvent(pushed(), log);
    const run = current().generation;
    for (let step = 0; step < 3; step++) await deliver();
    const succeeded = current();
    registry.removeImage(digest);
    await service.handleEvent(deleted(), log);
    registry.addImage(digest, dockerImage());
    await service.handleEvent(pushed({ eventId: 'evt-2' }), log);

    expect(run).toMatch(/^[0-9a-f-]{36}$/);
    expect(succeeded).toMatchObject({ status: 'Succeeded', attempts: 2, generation: run });
    expect(current().generation).not.toBe(run);
  });

  it('converts a Failed image again on a manual request, with attempts reset', async () => {
    const { service, registry, deliver, current } = setup({
      retry: { maxAttempts: 2, initialDelaySeconds: 60, maxDelaySeconds: 3_600 },
    });
    registry.scriptNextStart({ steps: [unknownError] }, { steps: [unknownError] });
    await service.handleEvent(pushed(), log);
    for (let step = 0; step < 3; step++) await deliver();
    const failed = current();

    const outcome = await service.request(key, { source: 'manual', tags: [], manual: true }, log);

    expect(failed).toMatchObject({ status: 'Failed', attempts: 2 });
    expect(outcome).toBe('Running');
    expect(registry.calls.startStreamingConversion).toBe(3);
    expect(current()).toMatchObject({ status: 'Running', source: 'manual', attempts: 1, operationId: 'op-3' });
    expect(current().lastErrorCode).toBeUndefined();
  });

  it.each([
    [
      'a spoofed topic',
      pushed({ topic: '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/evil' }),
    ],
    ['no data', { id: 'x', topic: contoso.resourceId, eventType: 'Microsoft.ContainerRegistry.ImagePushed' }],
    ['not an object', 'ImagePushed'],
    ['null', null],
    ['a path-traversal repository', { ...(pushed() as object), data: { target: { digest, repository: '../../etc' } } }],
  ])('rejects %s without touching the registry or the store', async (_name, event) => {
    const { service, registry, store } = setup();

    const outcome = await service.handleEvent(event, log);

    expect(outcome).toBe('rejected');
    expect(Object.values(registry.calls).every((count) => count === 0)).toBe(true);
    expect(store.size).toBe(0);
  });

  it('issue #17 §5: counts each event from a topic that is not a configured registry once, naming what it carried', async () => {
    const { service } = setup();
    const evil = '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/evil';
    const lines: Array<{ level: string; message: string; fields: unknown }> = [];
    const recording = Object.fromEntries(
      (['trace', 'debug', 'info', 'warn', 'error'] as const).map((level) => [
        level,
        (message: unknown, fields?: unknown) => lines.push({ level, message: String(message), fields }),
      ]),
    ) as unknown as typeof log;

    await service.handleEvent(pushed({ topic: evil, eventId: 'evt-evil-1' }), recording);
    await service.handleEvent(pushed({ topic: evil, eventId: 'evt-evil-2' }), recording);
    await service.handleEvent({ id: 'evt-bad', topic: contoso.resourceId }, recording);

    const metrics = lines
      .filter(({ message }) => message.startsWith(metricPrefix))
      .map(({ message }) => JSON.parse(message.slice(metricPrefix.length)) as Record<string, unknown>);
    expect(metrics.filter((metric) => metric.metric === 'event.rejected')).toEqual([
      { metric: 'event.rejected', value: 1, cause: 'unknown-topic', topic: evil },
      { metric: 'event.rejected', value: 1, cause: 'unknown-topic', topic: evil },
      { metric: 'event.rejected', value: 1, cause: 'malformed' },
    ]);
    expect(lines.filter(({ level }) => level === 'warn').map(({ fields }) => fields)).toEqual([
      { eventId: 'evt-evil-1', topic: evil, repository, digest },
      { eventId: 'evt-evil-2', topic: evil, repository, digest },
      { eventId: 'evt-bad' },
    ]);
  });

  it('cancels a running conversion by request', async () => {
    const { service, registry, outbox, queue, deliver, current } = setup();
    await service.handleEvent(pushed(), log);

    const result = await service.cancel(key, log);
    await deliver(); // the outstanding poll finds nothing to do

    expect(result).toMatchObject({ status: 'Canceled', lastErrorCode: 'CANCELED' });
    expect(current().status).toBe('Canceled');
    expect(registry.isCanceled('op-1')).toBe(true);
    expect(outbox.events).toMatchObject([{ type: 'conversion.canceled', status: 'Canceled', operationId: 'op-1' }]);
    expect(queue.waiting).toEqual([]);
  });

  it('leaves a finished conversion alone when asked to cancel it', async () => {
    const { service, registry, outbox, current } = setup();
    registry.addReferrer(digest);
    await service.handleEvent(pushed(), log);

    const result = await service.cancel(key, log);

    expect(result?.status).toBe('Succeeded');
    expect(current().status).toBe('Succeeded');
    expect(registry.calls.cancelOperation).toBe(0);
    expect(outbox.ofType('conversion.canceled')).toEqual([]);
  });
});

describe('ConversionService: a decision is made again when what it was made from changes (issue #14, scenario 1)', () => {
  /** Like setup(), with a policy and a readiness the test changes as an owner or an upgrade would. */
  function changing(initial: PolicyInput, options: { ready?: boolean; image?: ReturnType<typeof dockerImage> } = {}) {
    const clock = new ManualClock('2026-03-01T12:00:00.000Z');
    const store = new InMemoryConversionStore();
    const queue = new RecordingTrackingQueue();
    const registry = new ScriptedRegistry().addImage(digest, options.image ?? dockerImage());
    let policy = policySchema.parse({ deadlineMinutes: 60, ...initial });
    let ready = options.ready ?? true;
    const service = new ConversionService({
      registries: [contoso],
      gateway: () => registry,
      store,
      outbox: new InMemoryOutbox(),
      queue,
      policies: { policyFor: () => Promise.resolve({ policy, scope: '_default' }) },
      readiness: () => Promise.resolve(ready ? { ready: true } : { ready: false, reason: 'Standard SKU' }),
      settings,
      clock,
      random: () => 0.5,
    });
    return {
      service,
      registry,
      current: () => store.get(key)!,
      setPolicy: (input: PolicyInput) => (policy = policySchema.parse({ deadlineMinutes: 60, ...input })),
      setReady: (value: boolean) => (ready = value),
    };
  }
  const backfill: RequestOptions = { source: 'backfill', tags: ['1.0'] };

  it.each<[string, PolicyInput, PolicyInput, string]>([
    ['policy turned on after pushes', { mode: 'off' }, { mode: 'onPush', backfill: { enabled: true } }, 'policy-off'],
    [
      'raising maxImageSizeGiB',
      { mode: 'onPush', maxImageSizeGiB: 1 },
      { mode: 'onPush', maxImageSizeGiB: 30 },
      'too-large',
    ],
    [
      'widening tag rules',
      { mode: 'onPush', tags: { include: ['v*'], exclude: [] } },
      { mode: 'onPush', tags: { include: ['*'], exclude: [] } },
      'tag-not-included',
    ],
  ])('scenario 1: %s — the skipped image converts on the next request', async (_name, before, after, skip) => {
    const { service, registry, current, setPolicy } = changing(before, {
      image: dockerImage({ imageSize: 5 * 1024 ** 3 }),
    });
    await service.handleEvent(pushed(), log);
    const skipped = current();
    const unchanged = await service.request(key, backfill, log);

    setPolicy(after);
    const outcome = await service.request(key, backfill, log);

    expect(skipped).toMatchObject({ status: 'Skipped', skipReason: skip });
    expect(unchanged).toBe('duplicate');
    expect(outcome).toBe('Running');
    expect(current()).toMatchObject({ status: 'Running', source: 'backfill', attempts: 1 });
    expect(registry.calls.startStreamingConversion).toBe(1);
  });

  it('scenario 1: a Standard → Premium upgrade (was registry-not-ready) converts on the next request', async () => {
    const { service, current, setReady } = changing({ mode: 'onPush' }, { ready: false });
    await service.handleEvent(pushed(), log);
    const skipped = current();

    setReady(true);
    const outcome = await service.request(key, backfill, log);

    expect(skipped).toMatchObject({ status: 'Skipped', skipReason: 'registry-not-ready' });
    expect(outcome).toBe('Running');
  });

  it('scenario 1: a Succeeded image whose streaming referrer was deleted converts again when the audit says so', async () => {
    const { service, registry, current } = changing({ mode: 'onPush', backfill: { enabled: true } });
    registry.addReferrer(digest);
    await service.handleEvent(pushed(), log);
    const succeeded = current();
    registry.removeReferrers(digest);

    const withoutEvidence = await service.request(key, backfill, log);
    const fromAudit = await service.request(key, { ...backfill, referrerMissing: true }, log);

    expect(succeeded.status).toBe('Succeeded');
    expect(withoutEvidence).toBe('duplicate');
    expect(fromAudit).toBe('Running');
    expect(current().generation).not.toBe(succeeded.generation);
  });
});

describe('ConversionService: permanent errors end, transient errors back off (issue #14, scenario 4)', () => {
  const acr = (status: number, code: string, retryAfterMs?: number) =>
    new AcrError(`could not read the operation: GET … answered ${status} ${code}`, {
      status,
      code,
      correlationId: 'corr-1',
      method: 'GET',
      path: `/acr/v1/${repository}/_operations/op-1`,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });

  it('scenario 4: a transient failure while tracking backs off on the row instead of throwing', async () => {
    const { service, registry, queue, current } = setup();
    await service.handleEvent(pushed(), log);
    registry.failNext('getOperation', acr(503, 'UNAVAILABLE'));

    const next = queue.take();
    await expect(service.track(next.message, log)).resolves.toBeUndefined();

    expect(current()).toMatchObject({ status: 'Running', transientErrors: 1, lastErrorCode: 'UNAVAILABLE' });
    expect(queue.last()).toMatchObject({ message: { kind: 'poll', token: current().trackingToken } });
    expect(queue.last()!.delaySeconds).toBeGreaterThanOrEqual(settings.firstPollSeconds);
  });

  it("scenario 4: honours ACR's Retry-After, capped at the longest poll interval", async () => {
    const { service, registry, queue } = setup();
    await service.handleEvent(pushed(), log);
    registry.failNext('getOperation', acr(429, 'TOOMANYREQUESTS', 45_000));
    registry.failNext('getOperation', acr(429, 'TOOMANYREQUESTS', 3_600_000));

    await service.track(queue.take().message, log);
    const asked = queue.last()!.delaySeconds;
    await service.track(queue.take().message, log);

    expect(asked).toBe(45);
    expect(queue.last()!.delaySeconds).toBe(settings.maxPollSeconds);
  });

  it.each([
    [401, 'UNAUTHORIZED', 'UNAUTHORIZED'],
    [403, 'DENIED', 'DENIED'],
    [200, 'INVALID_RESPONSE', 'INVALID_RESPONSE'],
  ])(
    'scenario 4: %d %s while tracking ends the conversion Failed with the code and a fix, alerted once',
    async (status, code, expected) => {
      const { service, registry, outbox, queue, current } = setup();
      await service.handleEvent(pushed(), log);
      registry.failNext('getOperation', acr(status, code));

      await expect(service.track(queue.take().message, log)).resolves.toBeUndefined();

      expect(current()).toMatchObject({ status: 'Failed', lastErrorCode: expected, correlationId: 'corr-1' });
      expect(current().remediation).toMatch(/\w/);
      expect(outbox.ofType('conversion.failed')).toHaveLength(1);
      expect(queue.waiting).toEqual([]);
    },
  );

  it('scenario 4: a Pending row past its deadline ends TimedOut instead of starting', async () => {
    const { service, registry, queue, clock, current } = setup({ deadlineMinutes: 5 });
    registry.failNext('startStreamingConversion', acr(503, 'UNAVAILABLE'));
    await service.handleEvent(pushed(), log);
    const pending = current();

    clock.advance(6 * 60);
    await service.track(queue.take().message, log);

    expect(pending.status).toBe('Pending');
    expect(current()).toMatchObject({ status: 'TimedOut', lastErrorCode: 'TIMED_OUT' });
    expect(registry.calls.startStreamingConversion).toBe(1);
  });
});

describe('ConversionService: the lease holds (issue #14, scenario 5)', () => {
  it('scenario 5: does not start when the lease ran out during the checks before the POST', async () => {
    const { service, registry, clock } = setup();
    const original = registry.getStreamingOperation.bind(registry);
    registry.getStreamingOperation = async (repository, digestValue) => {
      clock.advance(settings.leaseSeconds + 1); // a slow answer: the lease is gone when it arrives
      return original(repository, digestValue);
    };

    const outcome = await service.handleEvent(pushed(), log);

    expect(outcome).toBe('claimed-elsewhere');
    expect(registry.calls.startStreamingConversion).toBe(0);
  });

  it('scenario 5: the reservation renews the lease and the POST may not outlast it', async () => {
    const { service, registry, clock, current } = setup();
    let notAfter: Date | undefined;
    const original = registry.startStreamingConversion.bind(registry);
    registry.startStreamingConversion = (repository, digestValue, options) => {
      notAfter = options?.notAfter;
      return original(repository, digestValue);
    };

    await service.handleEvent(pushed(), log);

    const leaseEnd = clock.now().getTime() + settings.leaseSeconds * 1_000;
    expect(notAfter!.getTime()).toBeLessThan(leaseEnd);
    expect(notAfter!.getTime()).toBeGreaterThanOrEqual(leaseEnd - 5_000);
    expect(current().status).toBe('Running');
  });

  it.each([
    ['made: its ended operation is tracked and recorded', ['op-1', 'op-2'], 0, 'UNKNOWN_ERROR'],
    ['never made: the reservation is used again, once', ['op-1'], 1, undefined],
  ])(
    'a re-drive after a stop between reserving the last attempt and recording it — the POST %s',
    async (_case, operations, posts, finalCode) => {
      // Found by the hostile chaos tier (seed 20260109): attempt 2 of 2 was reserved and POSTed, the host was killed,
      // the operation failed unseen; the sweeper's re-drive then requested a third. The reverse (killed before the
      // POST) must still make the second attempt.
      const { service, store, registry, deliver, current, clock } = setup({ retry: { maxAttempts: 2 } });
      const now = clock.now().getTime();
      for (const id of operations) registry.addOperation(digest, id, { steps: [unknownError] });
      store.seed({
        ...key,
        status: 'Pending',
        tags: ['1.0'],
        reason: 'eligible',
        source: 'event',
        attempts: 2,
        maxAttempts: 2,
        polls: 0,
        operationId: 'op-1',
        reservation: 'r-1',
        lastErrorCode: 'UNKNOWN_ERROR',
        leaseUntil: new Date(now - 1_000).toISOString(),
        nextCheckAt: new Date(now - 1_000).toISOString(),
        createdAt: '2026-03-01T11:00:00.000Z',
        updatedAt: '2026-03-01T11:00:00.000Z',
      });

      await service.sweep(log);
      await deliver(); // the start path
      if (posts === 0) await deliver(); // the poll of the adopted operation

      expect(registry.calls.startStreamingConversion).toBe(posts);
      expect(current().attempts).toBe(2);
      if (finalCode) expect(current()).toMatchObject({ status: 'Failed', lastErrorCode: finalCode });
      else expect(current()).toMatchObject({ status: 'Running' });
    },
  );

  describe('issue #15: native mode holds for repositories created after the policy', () => {
    it('a push to a native repository whose ACR switch is off turns the switch on and converts that image', async () => {
      const { service, registry, current } = setup({ mode: 'native' });

      const outcome = await service.handleEvent(pushed(), log);

      expect(registry.convertPushedImages.get(repository)).toBe(true);
      expect(outcome).toBe('Running');
      expect(registry.calls.startStreamingConversion).toBe(1);
      expect(current().reason).toMatch(/ACR's switch .* was off; turned on/);
    });

    it("a push to a native repository whose switch is on is ACR's: the app follows ACR's own operation, no POST", async () => {
      const { service, registry, current, deliver } = setup({ mode: 'native' });
      registry.convertPushedImages.set(repository, true);
      registry.addOperation(digest, 'acr-auto-1', { steps: ['Running', 'Succeeded'] });

      const outcome = await service.handleEvent(pushed(), log);
      await deliver();
      await deliver();

      expect(outcome).toBe('Running');
      expect(registry.calls.startStreamingConversion).toBe(0);
      expect(registry.calls.setRepositoryStreaming).toBe(0);
      expect(current()).toMatchObject({ status: 'Succeeded', operationId: 'acr-auto-1', attempts: 1 });
    });

    it('a push that reached ACR before its switch went on (the scope moved to native meanwhile) is converted by the app once ACR has not started it in time', async () => {
      const { service, registry, current, deliver, clock } = setup({ mode: 'native' });
      // The policy change turned the switch on after this push arrived: ACR converts only later pushes.
      registry.convertPushedImages.set(repository, true);

      const outcome = await service.handleEvent(pushed(), log);
      expect(outcome).toBe('Pending');
      expect(current().reason).toMatch(/ACR converts this push itself/);
      const started = clock.now().getTime();
      while (current().status === 'Pending') await deliver();

      expect(registry.calls.startStreamingConversion).toBe(1);
      expect(clock.now().getTime() - started).toBeGreaterThanOrEqual(120_000);
      expect(current()).toMatchObject({ status: 'Running', attempts: 1 });
      expect(current().reason).toMatch(/ACR did not convert this push/);
    });

    it("ACR's operation showing late, inside the grace period, is still followed: no POST (assumption A6)", async () => {
      const { service, registry, current, deliver } = setup({ mode: 'native' });
      registry.convertPushedImages.set(repository, true);

      await service.handleEvent(pushed(), log);
      await deliver();
      registry.addOperation(digest, 'acr-late', { steps: ['Running', 'Succeeded'] });
      while (current().status !== 'Succeeded') await deliver();

      expect(registry.calls.startStreamingConversion).toBe(0);
      expect(current()).toMatchObject({ status: 'Succeeded', operationId: 'acr-late' });
    });

    it("ACR's own conversion failing is retried by the app's policy, never by following the same failed operation again", async () => {
      const { service, registry, current, deliver } = setup({ mode: 'native', retry: { maxAttempts: 2 } });
      registry.convertPushedImages.set(repository, true);
      registry.addOperation(digest, 'acr-auto-1', { steps: ['Running', 'Failed'] });
      registry.scriptNextStart({ steps: ['Running', 'Succeeded'] });

      await service.handleEvent(pushed(), log);
      while (!['Succeeded', 'Failed'].includes(current().status)) await deliver();

      expect(registry.calls.startStreamingConversion).toBe(1);
      expect(current()).toMatchObject({ status: 'Succeeded', attempts: 2 });
    });
  });
});
