import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { AcrError } from '../../../../lib/core/errors.js';
import type { ConversionStatus } from '../../../../lib/core/image.js';
import {
  acrPickupSeconds,
  maxRecordedTags,
  reconsiders,
  recordedTags,
  rules,
  transition,
  type ConversionRequest,
  type Effect,
  type LifecycleContext,
  type Observation,
  type Rule,
  type Transition,
} from '../../../../lib/conversion/lifecycle.js';
import type { ConversionRecord } from '../../../../lib/conversion/record.js';
import { policySchema, type PolicyInput } from '../../../../lib/policy/model.js';
import { digestOf, dockerImage } from '../../../support/fakes/registry.js';

/*
 * The lifecycle table of docs/architecture.md § Conversion lifecycle, row by row: each `describe` is a rule, each
 * test the row's guard and its state and effects. Property tests where a row ranges over inputs.
 */

const settings = { firstPollSeconds: 10, maxPollSeconds: 300, leaseSeconds: 300, quietSeconds: 600 };
const now = new Date('2026-03-01T12:00:00.000Z');
const at = (seconds: number): string => new Date(now.getTime() + seconds * 1000).toISOString();
const key = { registry: 'contoso', repository: 'team-a/app', digest: digestOf('app-1') };
const retry = { initialDelaySeconds: 60, maxDelaySeconds: 600 };

function context(overrides: Partial<LifecycleContext> = {}): LifecycleContext {
  let ids = 0;
  return { now, settings, newId: () => `id-${++ids}`, random: () => 0.5, retry, ...overrides };
}

function row(status: ConversionStatus, fields: Partial<ConversionRecord> = {}): ConversionRecord {
  return {
    ...key,
    status,
    tags: ['1.0'],
    reason: 'eligible',
    source: 'event',
    attempts: 0,
    maxAttempts: 3,
    polls: 0,
    generation: 'run-1',
    deadlineAt: at(3600),
    createdAt: at(-60),
    updatedAt: at(-60),
    ...fields,
  };
}
const pending = (fields: Partial<ConversionRecord> = {}) => row('Pending', { leaseUntil: at(120), ...fields });
const runningRow = (fields: Partial<ConversionRecord> = {}) =>
  row('Running', { operationId: 'op-1', operationStatus: 'Running', attempts: 1, trackingToken: 't-0', ...fields });

function acrError(status: number, code: string, extra: { retryAfterMs?: number; reason?: string } = {}): AcrError {
  return new AcrError(`ACR answered ${status} ${code}`, {
    status,
    code,
    correlationId: 'corr-1',
    method: 'GET',
    path: '/acr/v1/team-a/app/_operations/op-1',
    ...extra,
  });
}

const fired = new Set<Rule>();
function step(record: ConversionRecord | undefined, observation: Observation, ctx = context()): Transition {
  const result = transition(record, observation, ctx);
  fired.add(result.rule);
  return result;
}
const kinds = (effects: readonly Effect[]) => effects.map((effect) => effect.kind);
const enqueued = (result: Transition) => {
  const effect = result.effects.find((candidate) => candidate.kind === 'enqueue');
  if (effect?.kind !== 'enqueue') throw new Error(`no enqueue in ${result.rule}`);
  return effect;
};
const outcome = (result: Transition) => {
  const effect = result.effects.find((candidate) => candidate.kind === 'record-outcome');
  if (effect?.kind !== 'record-outcome') throw new Error(`no outcome in ${result.rule}`);
  return effect.event;
};

function decided(policy: PolicyInput, request: Partial<ConversionRequest> = {}) {
  const image = dockerImage({ tags: ['1.0'] });
  return {
    kind: 'decided',
    key,
    request: { source: 'event', tags: ['1.0'], ...request },
    manifest: { ...image.manifest, digest: key.digest },
    attributes: { ...image.attributes, digest: key.digest },
    applied: { policy: policySchema.parse({ deadlineMinutes: 60, ...policy }), scope: '_default' },
    readiness: { ready: true },
  } as const satisfies Observation;
}

describe('conversion lifecycle (docs/architecture.md § Conversion lifecycle)', () => {
  afterAll(() => {
    // Every rule of the table fired in some test above.
    expect(rules.filter((rule) => !fired.has(rule))).toEqual([]);
  });

  it('the table in docs/architecture.md lists every rule, and nothing else', () => {
    const doc = readFileSync(new URL('../../../../docs/architecture.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Conversion lifecycle'), doc.indexOf('## Policy effects'));
    const listed = [...section.matchAll(/^\| `([a-z-]+(?::[a-z-]+)?)` \|/gm)].map((match) => match[1]);
    expect([...listed].sort()).toEqual([...rules].sort());
  });

  describe('decide:skip', () => {
    it('an image the policy excludes is recorded Skipped with the reason and what it was decided from', () => {
      const result = step(undefined, decided({ mode: 'off' }));
      expect(result.rule).toBe('decide:skip');
      expect(result.next).toMatchObject({ status: 'Skipped', skipReason: 'policy-off', attempts: 0 });
      expect(result.next?.decidedWith).toMatch(/^[0-9a-f]{16}\|ready$/);
      expect(result.effects).toEqual([]);
    });

    it('a registry that cannot convert records not-ready in the basis', () => {
      const observation = { ...decided({ mode: 'onPush' }), readiness: { ready: false, reason: 'Standard SKU' } };
      const result = step(undefined, observation);
      expect(result.next).toMatchObject({ status: 'Skipped', skipReason: 'registry-not-ready' });
      expect(result.next?.decidedWith).toMatch(/\|not-ready$/);
    });
  });

  describe('decide:claim', () => {
    it('an eligible image is claimed Pending with a lease, a deadline and a new run id, then ACR is checked within the lease', () => {
      const result = step(undefined, decided({ mode: 'onPush' }));
      expect(result.rule).toBe('decide:claim');
      expect(result.next).toMatchObject({
        status: 'Pending',
        leaseUntil: at(300),
        deadlineAt: at(3600),
        generation: 'id-1',
        createdAt: now.toISOString(),
      });
      expect(result.effects).toEqual([{ kind: 'check-registry', notAfter: new Date(at(295)) }]);
    });

    it('issue #19 § 2: the first push of a digest that push created starts without reading ACR; anything else reads it', () => {
      const fresh = (
        request: Partial<ConversionRequest>,
        createdTime: string | undefined,
        existing?: ConversionRecord,
      ) => {
        const observation = decided({ mode: 'onPush' }, request);
        const attributes = { ...observation.attributes, createdTime };
        return step(existing, { ...observation, attributes }).effects.find(
          (effect) => effect.kind === 'check-registry',
        );
      };
      const known = { kind: 'check-registry', notAfter: new Date(at(295)), known: 'new-digest' };
      const read = { kind: 'check-registry', notAfter: new Date(at(295)) };
      // Created by the push 2 s before its event; the event 5 s old.
      expect(fresh({ pushedAt: at(-5) }, at(-7))).toEqual(known);
      // A digest that existed a day before this push (tagged again): someone may have converted it.
      expect(fresh({ pushedAt: at(-5) }, at(-86_400))).toEqual(read);
      // An event delivered again minutes later: ACR's switch may have converted it meanwhile.
      expect(fresh({ pushedAt: at(-300) }, at(-301))).toEqual(read);
      // No metadata time, no event time, not an event, a row the app already had: read.
      expect(fresh({ pushedAt: at(-5) }, undefined)).toEqual(read);
      expect(fresh({}, at(-7))).toEqual(read);
      expect(fresh({ source: 'backfill', pushedAt: at(-5) }, at(-7))).toEqual(read);
      expect(fresh({ pushedAt: at(-5) }, at(-7), row('Deleted', { lastEventTime: at(-60) }))).toEqual(read);
    });

    it('a row still in flight keeps its run; a finished one starts a new run', () => {
      const abandoned = pending({ generation: 'run-7', leaseUntil: at(-1) });
      expect(step(abandoned, decided({ mode: 'onPush' })).next?.generation).toBe('run-7');
      const failed = row('Failed', { generation: 'run-7' });
      expect(step(failed, decided({ mode: 'onPush' }), context()).next?.generation).toBe('id-1');
    });
  });

  describe('decide:* under a native policy (issue #15)', () => {
    it("a push with ACR's switch on is ACR's, followed; with it off the switch is turned on and the image claimed", () => {
      const on = step(undefined, { ...decided({ mode: 'native' }), acrSwitch: true });
      expect(on.rule).toBe('decide:claim');
      expect(on.next).toMatchObject({ status: 'Pending', awaitAcrUntil: at(acrPickupSeconds) });
      expect(on.next?.reason).toMatch(/ACR converts this push itself/);
      expect(kinds(on.effects)).toEqual(['check-registry']);
      // Without the switch read (a caller that does not know it), native pushes are skipped as before.
      const unknown = step(undefined, decided({ mode: 'native' }));
      expect(unknown).toMatchObject({ rule: 'decide:skip', next: { skipReason: 'native-mode' }, effects: [] });

      const off = step(undefined, { ...decided({ mode: 'native' }), acrSwitch: false });
      expect(off.rule).toBe('decide:claim');
      expect(kinds(off.effects)).toEqual(['enable-acr-switch', 'check-registry']);
      expect(off.next?.reason).toMatch(/switch .* was off; turned on/);
    });

    it('an image native mode would not convert anyway still gets the switch turned on', () => {
      const arm = dockerImage({ architecture: 'arm64', tags: ['1.0'] });
      const observation = {
        ...decided({ mode: 'native' }),
        manifest: { ...arm.manifest, digest: key.digest },
        attributes: { ...arm.attributes, digest: key.digest },
        acrSwitch: false,
      };
      const result = step(undefined, observation);
      expect(result).toMatchObject({ rule: 'decide:skip', next: { skipReason: 'unsupported-platform' } });
      expect(kinds(result.effects)).toEqual(['enable-acr-switch']);
    });
  });

  describe('reconsiders (which rows a request decides again)', () => {
    const basis = 'basis-1';
    const request = { source: 'event', tags: ['1.0'] } as const;

    it('Skipped: when the basis changed or a new tag comes, not for the same request again', () => {
      const skipped = row('Skipped', { decidedWith: basis });
      expect(reconsiders(skipped, request, basis, now)).toBe(false);
      expect(reconsiders(skipped, request, 'basis-2', now)).toBe(true);
      expect(reconsiders(skipped, { ...request, tags: ['2.0'] }, basis, now)).toBe(true);
    });

    it('Succeeded: only when the streaming referrer was found missing', () => {
      expect(reconsiders(row('Succeeded'), request, basis, now)).toBe(false);
      expect(reconsiders(row('Succeeded'), { ...request, referrerMissing: true }, basis, now)).toBe(true);
    });

    it('Pending: only an abandoned claim (lease over, no tracking message)', () => {
      expect(reconsiders(pending(), request, basis, now)).toBe(false);
      expect(reconsiders(pending({ leaseUntil: at(-1) }), request, basis, now)).toBe(true);
      expect(reconsiders(pending({ leaseUntil: at(-1), trackingToken: 't' }), request, basis, now)).toBe(false);
    });

    it('Deleted always; Running, Failed, TimedOut, Canceled never, except by hand when not being worked on', () => {
      expect(reconsiders(row('Deleted'), request, basis, now)).toBe(true);
      for (const status of ['Running', 'Failed', 'TimedOut', 'Canceled'] as const)
        expect(reconsiders(row(status, { decidedWith: 'other' }), request, basis, now)).toBe(false);
      const manual = { ...request, manual: true };
      expect(reconsiders(row('Failed'), manual, basis, now)).toBe(true);
      expect(reconsiders(row('Running'), manual, basis, now)).toBe(false);
      expect(reconsiders(pending(), manual, basis, now)).toBe(false);
    });

    it('property: a request never reconsiders a row whose basis and tags it matches, unless by hand or Deleted', () => {
      const statuses = ['Skipped', 'Succeeded', 'Failed', 'TimedOut', 'Canceled', 'Running'] as const;
      fc.assert(
        fc.property(
          fc.constantFrom(...statuses),
          fc.array(fc.string({ minLength: 1, maxLength: 8 })),
          (status, tags) => {
            const record = row(status, { decidedWith: basis, tags });
            return !reconsiders(record, { source: 'backfill', tags }, basis, now);
          },
        ),
      );
    });
  });

  describe('start:timed-out and start:renew-lease', () => {
    it('a start message past the deadline ends TimedOut with its outcome', () => {
      const result = step(pending({ deadlineAt: at(-1) }), { kind: 'start-message' });
      expect(result.rule).toBe('start:timed-out');
      expect(result.next).toMatchObject({ status: 'TimedOut', lastErrorCode: 'TIMED_OUT', completedAt: at(0) });
      expect(outcome(result)).toMatchObject({ type: 'conversion.timedOut', generation: 'run-1' });
    });

    it('before the deadline it renews the lease and checks ACR', () => {
      const result = step(pending({ leaseUntil: undefined }), { kind: 'start-message' });
      expect(result.rule).toBe('start:renew-lease');
      expect(result.next).toMatchObject({ status: 'Pending', leaseUntil: at(300) });
      expect(result.effects).toEqual([{ kind: 'check-registry', notAfter: new Date(at(295)) }]);
    });
  });

  describe('check:*', () => {
    it('check:referrer-present: a streaming referrer already there is success without a POST', () => {
      const result = step(pending(), { kind: 'registry-checked', referrerPresent: true, operation: undefined });
      expect(result.rule).toBe('check:referrer-present');
      expect(result.next).toMatchObject({ status: 'Succeeded', reason: 'the streaming artifact already exists' });
      expect(kinds(result.effects)).toEqual(['record-outcome']);
    });

    it('check:adopt: an ongoing operation is adopted and polled, counted as at least one attempt', () => {
      const result = step(pending(), {
        kind: 'registry-checked',
        referrerPresent: false,
        operation: { id: 'op-9', status: 'NotStarted' },
      });
      expect(result.rule).toBe('check:adopt');
      expect(result.next).toMatchObject({ status: 'Running', operationId: 'op-9', attempts: 1, polls: 0 });
      expect(result.next?.leaseUntil).toBeUndefined();
      expect(enqueued(result)).toMatchObject({ message: { kind: 'poll', token: 'id-1' }, delaySeconds: 10 });
      expect(result.next?.trackingToken).toBe('id-1');
    });

    it("check:follow-acr: a native push follows ACR's operation of the digest, running or ended, once", () => {
      const awaiting = pending({ awaitAcrUntil: at(120) });
      for (const status of ['Running', 'Failed'] as const) {
        const result = step(awaiting, {
          kind: 'registry-checked',
          referrerPresent: false,
          operation: { id: 'acr-1', status },
        });
        expect(result.rule).toBe('check:follow-acr');
        expect(result.next).toMatchObject({ status: 'Running', operationId: 'acr-1', attempts: 1 });
        expect(result.next?.awaitAcrUntil).toBeUndefined();
      }
      // The operation it already followed (and which failed) is not followed again: the retry is the app's.
      const retried = step(pending({ awaitAcrUntil: at(120), operationId: 'acr-1', attempts: 1 }), {
        kind: 'registry-checked',
        referrerPresent: false,
        operation: { id: 'acr-1', status: 'Failed' },
      });
      expect(retried.rule).not.toBe('check:follow-acr');
    });

    it('check:await-acr: ACR shows nothing yet: look again shortly, until the grace period is over; then reserve', () => {
      const nothing = { kind: 'registry-checked', referrerPresent: false, operation: undefined } as const;
      const early = step(pending({ awaitAcrUntil: at(100) }), nothing);
      expect(early.rule).toBe('check:await-acr');
      expect(early.next).toMatchObject({ status: 'Pending', attempts: 0 });
      expect(enqueued(early)).toMatchObject({ message: { kind: 'start' }, delaySeconds: 15 });
      const last = step(pending({ awaitAcrUntil: at(4) }), nothing);
      expect(enqueued(last).delaySeconds).toBe(4);

      const past = step(pending({ awaitAcrUntil: at(-1) }), nothing);
      expect(past.rule).toBe('check:reserve');
      expect(past.next).toMatchObject({ attempts: 1 });
      expect(past.next?.awaitAcrUntil).toBeUndefined();
      expect(past.next?.reason).toMatch(/ACR did not convert this push/);
    });

    it('check:attempts-spent: with every attempt used and nothing running, no further POST: Failed', () => {
      const observation = {
        kind: 'registry-checked',
        referrerPresent: false,
        operation: { id: 'op-2', status: 'Failed' },
      } as const;
      const known = step(pending({ attempts: 2, maxAttempts: 2, lastErrorCode: 'UNKNOWN_ERROR' }), observation);
      expect(known.rule).toBe('check:attempts-spent');
      expect(known.next).toMatchObject({ status: 'Failed', lastErrorCode: 'UNKNOWN_ERROR' });
      expect(kinds(known.effects)).toEqual(['record-outcome']);
      const unknown = step(pending({ attempts: 2, maxAttempts: 2 }), observation);
      expect(unknown.next).toMatchObject({ status: 'Failed', lastErrorCode: 'ATTEMPTS_EXHAUSTED' });
    });

    it('check:adopt-ended: after a stop between reserving and recording, the newer ended operation is tracked', () => {
      const observation = {
        kind: 'registry-checked',
        referrerPresent: false,
        operation: { id: 'op-2', status: 'Failed' },
      } as const;
      const result = step(
        pending({ attempts: 2, maxAttempts: 2, operationId: 'op-1', reservation: 'r-1' }),
        observation,
      );
      expect(result.rule).toBe('check:adopt-ended');
      expect(result.next).toMatchObject({ status: 'Running', operationId: 'op-2', attempts: 2 });
      expect(result.next?.reservation).toBeUndefined();
    });

    it('check:reserve: a reservation whose POST left no operation is used again, not counted twice', () => {
      const observation = {
        kind: 'registry-checked',
        referrerPresent: false,
        operation: { id: 'op-1', status: 'Failed' },
      } as const;
      const result = step(
        pending({ attempts: 2, maxAttempts: 2, operationId: 'op-1', reservation: 'r-1' }),
        observation,
      );
      expect(result.rule).toBe('check:reserve');
      expect(result.next).toMatchObject({ attempts: 2, reservation: 'id-1' });
    });

    it('check:lease-lapsed: with the lease gone nothing is written and nothing asked of ACR', () => {
      const observation = { kind: 'registry-checked', referrerPresent: false, operation: undefined } as const;
      const result = step(pending({ leaseUntil: at(-1) }), observation);
      expect(result).toEqual({ rule: 'check:lease-lapsed', effects: [] });
    });

    it('check:reserve: the attempt is reserved and the lease renewed before the POST, which ends inside it', () => {
      const observation = {
        kind: 'registry-checked',
        referrerPresent: false,
        operation: { id: 'op-old', status: 'Failed' },
      } as const;
      const result = step(pending({ attempts: 1 }), observation);
      expect(result.rule).toBe('check:reserve');
      expect(result.next).toMatchObject({ status: 'Pending', attempts: 2, leaseUntil: at(300) });
      expect(result.effects).toEqual([{ kind: 'start-conversion', notAfter: new Date(at(295)) }]);
    });
  });

  describe('start:running, start:later, start:give-up-lease', () => {
    it('start:running: any accepted start becomes Running with a poll', () => {
      const result = step(pending({ attempts: 1 }), {
        kind: 'start-answered',
        operation: { id: 'op-2', status: 'Running' },
      });
      expect(result.rule).toBe('start:running');
      expect(result.next).toMatchObject({ status: 'Running', operationId: 'op-2', attempts: 1, startedAt: at(0) });
      expect(kinds(result.effects)).toEqual(['enqueue']);
    });

    it('start:later: a throttled start waits for Retry-After and gives the reserved attempt back', () => {
      const error = acrError(429, 'TOOMANYREQUESTS', { retryAfterMs: 42_000 });
      const result = step(pending({ attempts: 2 }), { kind: 'start-refused', error, reserved: true });
      expect(result.rule).toBe('start:later');
      expect(result.next).toMatchObject({ status: 'Pending', attempts: 1, nextCheckAt: at(42) });
      expect(result.next?.leaseUntil).toBeUndefined();
      expect(enqueued(result)).toMatchObject({ message: { kind: 'start' }, delaySeconds: 42 });
    });

    it('property: the wait after a refused start is 1–300 s whatever ACR asks', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(0, 409, 429, 500, 503),
          fc.option(fc.integer({ min: 0, max: 10 ** 9 }), { nil: undefined }),
          fc.double({ min: 0, max: 0.999, noNaN: true }),
          (status, retryAfterMs, jitter) => {
            const error = acrError(status, 'X', retryAfterMs === undefined ? {} : { retryAfterMs });
            const result = transition(
              pending({ attempts: 1 }),
              { kind: 'start-refused', error, reserved: true },
              {
                ...context(),
                random: () => jitter,
              },
            );
            const delay = enqueued(result).delaySeconds;
            return result.rule === 'start:later' && delay >= 1 && delay <= 300 && result.next?.attempts === 0;
          },
        ),
      );
    });

    it('a refusal that is not transient goes through fail:*, counting the attempt once', () => {
      const denied = acrError(403, 'DENIED');
      const unreserved = step(pending({ attempts: 0 }), { kind: 'start-refused', error: denied, reserved: false });
      expect(unreserved.rule).toBe('fail:final');
      expect(unreserved.next).toMatchObject({ status: 'Failed', attempts: 1, lastErrorCode: 'DENIED' });
      const reserved = step(pending({ attempts: 1 }), { kind: 'start-refused', error: denied, reserved: true });
      expect(reserved.next?.attempts).toBe(1);
    });

    it('start:give-up-lease: a crash that is not ACR lets the next worker in at once', () => {
      const result = step(pending({ attempts: 1 }), { kind: 'start-crashed' });
      expect(result.rule).toBe('start:give-up-lease');
      expect(result.next).toMatchObject({ status: 'Pending', attempts: 1 });
      expect(result.next?.leaseUntil).toBeUndefined();
    });
  });

  describe('poll:*', () => {
    it('poll:timed-out: past the deadline the operation is cancelled (best effort) and the row ends TimedOut', () => {
      const result = step(runningRow({ deadlineAt: at(-1) }), { kind: 'poll-message' });
      expect(result.rule).toBe('poll:timed-out');
      expect(result.next?.status).toBe('TimedOut');
      expect(result.effects[0]).toEqual({ kind: 'cancel-operation', operationId: 'op-1', bestEffort: true });
      expect(kinds(result.effects)).toEqual(['cancel-operation', 'record-outcome']);
    });

    it('poll:check: before the deadline the operation is read, nothing written', () => {
      expect(step(runningRow(), { kind: 'poll-message' })).toEqual({
        rule: 'poll:check',
        effects: [{ kind: 'check-operation' }],
      });
    });

    it('poll:again: an ongoing operation is polled again, backed off, with a new token', () => {
      const result = step(runningRow({ polls: 2 }), {
        kind: 'operation-read',
        operation: { status: 'Running', progress: '40%' },
      });
      expect(result.rule).toBe('poll:again');
      expect(result.next).toMatchObject({ polls: 3, progress: '40%', trackingToken: 'id-1', nextCheckAt: at(80) });
      expect(enqueued(result)).toMatchObject({ message: { kind: 'poll', token: 'id-1' }, delaySeconds: 80 });
    });

    /** A running row that read `previous` at its last poll (its first reading long ago) reads `progress`. */
    const readProgress = (
      progress: string,
      row: { polls: number; previous: string; baselinePercent: number; baselineSeconds: number; expectedIn?: number },
    ) =>
      step(
        runningRow({
          polls: row.polls,
          progress: row.previous,
          progressBaselinePercent: row.baselinePercent,
          progressBaselineAt: at(-row.baselineSeconds),
          ...(row.expectedIn === undefined ? {} : { expectedFinishAt: at(row.expectedIn) }),
        }),
        { kind: 'operation-read', operation: { status: 'Running', progress } },
      );

    it('poll:again: a steady rate of progress schedules the poll at the finish it predicts, plus the margin', () => {
      // 10 % a minute ago, 40 % now: 0.5 %/s, so the other 60 % take 120 s; margin 5 s + 5 % of 120 s.
      const result = readProgress('40%', { polls: 2, previous: '20%', baselinePercent: 10, baselineSeconds: 60 });
      expect(result.rule).toBe('poll:again');
      expect(result.next).toMatchObject({
        polls: 3,
        progress: '40%',
        expectedFinishAt: at(120),
        nextCheckAt: at(131),
        progressBaselinePercent: 10,
        progressBaselineAt: at(-60),
      });
      expect(enqueued(result)).toMatchObject({ delaySeconds: 131 });
    });

    it("poll:again: an operation's first poll ignores the readings an earlier operation left on the row", () => {
      const result = readProgress('10%', {
        polls: 0,
        previous: '90%',
        baselinePercent: 50,
        baselineSeconds: 600,
        expectedIn: -30,
      });
      expect(result.next).toMatchObject({ polls: 1, progressBaselinePercent: 10, progressBaselineAt: at(0) });
      expect(result.next?.expectedFinishAt).toBeUndefined();
      expect(enqueued(result)).toMatchObject({ delaySeconds: 20 });
    });

    it('poll:again: once the predicted end has passed with ACR still converting, the wait is the doubling schedule at most', () => {
      const result = readProgress('20%', {
        polls: 2,
        previous: '8%',
        baselinePercent: 2,
        baselineSeconds: 278,
        expectedIn: -17,
      });
      expect(enqueued(result)).toMatchObject({ delaySeconds: 80 });
      expect(result.next?.expectedFinishAt).toBeDefined();
    });

    it('poll:again: a stall keeps the doubling schedule and drops the estimate', () => {
      const result = readProgress('20%', {
        polls: 3,
        previous: '20%',
        baselinePercent: 5,
        baselineSeconds: 120,
        expectedIn: 60,
      });
      expect(result.next?.expectedFinishAt).toBeUndefined();
      expect(enqueued(result)).toMatchObject({ delaySeconds: 160 });
    });

    it('property: a status nobody has seen is kept verbatim and polled on, never a failure', () => {
      const known = new Set(['NotStarted', 'Running', 'Succeeded', 'Failed', 'Canceled']);
      fc.assert(
        fc.property(
          fc.string({ minLength: 1, maxLength: 100 }).filter((status) => !known.has(status)),
          (status) => {
            const result = transition(runningRow(), { kind: 'operation-read', operation: { status } }, context());
            return result.rule === 'poll:again' && result.next?.operationStatus === status;
          },
        ),
      );
    });

    it('poll:succeeded: Succeeded with the referrer in place ends Succeeded with its outcome', () => {
      const result = step(runningRow({ expectedFinishAt: at(-5) }), {
        kind: 'operation-read',
        operation: { status: 'Succeeded', progress: '100%' },
        streamingReferrers: 1,
      });
      expect(result.rule).toBe('poll:succeeded');
      expect(result.next).toMatchObject({ status: 'Succeeded', operationStatus: 'Succeeded', progress: '100%' });
      expect(result.next?.expectedFinishAt).toBeUndefined();
      expect(outcome(result)).toMatchObject({
        id: `conversion.succeeded:team-a:app@${key.digest}:run-1`,
        status: 'Succeeded',
      });
    });

    it('poll:recheck-referrer: Succeeded without a referrer is checked 3 times from the first Succeeded, then fails', () => {
      let record = runningRow({ polls: 9 });
      const succeeded = { kind: 'operation-read', operation: { status: 'Succeeded' }, streamingReferrers: 0 } as const;
      const seen: Rule[] = [];
      for (let check = 0; check < 4; check++) {
        const result = step(record, succeeded);
        seen.push(result.rule);
        record = result.next!;
      }
      expect(seen).toEqual(['poll:recheck-referrer', 'poll:recheck-referrer', 'poll:recheck-referrer', 'fail:retry']);
      expect(record).toMatchObject({ status: 'Pending', lastErrorCode: 'REFERRER_MISSING' });
    });

    it('poll:later: a transient tracking error backs off (Retry-After honoured, capped), counted on the row', () => {
      const error = acrError(503, 'UNAVAILABLE', { retryAfterMs: 20_000 });
      const result = step(runningRow({ transientErrors: 1 }), { kind: 'tracking-error', error });
      expect(result.rule).toBe('poll:later');
      expect(result.next).toMatchObject({ status: 'Running', transientErrors: 2, lastErrorCode: 'UNAVAILABLE' });
      expect(enqueued(result).delaySeconds).toBe(20);
      const capped = step(runningRow(), {
        kind: 'tracking-error',
        error: acrError(429, 'T', { retryAfterMs: 10 ** 9 }),
      });
      expect(enqueued(capped).delaySeconds).toBe(settings.maxPollSeconds);
    });

    it('a permanent tracking error or an operation ACR forgot goes through fail:*', () => {
      const denied = step(runningRow({ attempts: 3 }), {
        kind: 'tracking-error',
        error: acrError(401, 'UNAUTHORIZED'),
      });
      expect(denied).toMatchObject({ rule: 'fail:final', next: { status: 'Failed', lastErrorCode: 'UNAUTHORIZED' } });
      const forgotten = step(runningRow(), { kind: 'operation-read', operation: undefined });
      expect(forgotten).toMatchObject({ rule: 'fail:retry', next: { lastErrorCode: 'OPERATION_UNKNOWN' } });
    });
  });

  describe('fail:retry and fail:final', () => {
    const unknown = { status: 'Failed', details: 'Conversion operation failed due to an unknown error' } as const;

    it('fail:retry: a retryable failure within the attempts goes back to Pending after the policy backoff', () => {
      const result = step(runningRow({ attempts: 1, expectedFinishAt: at(30) }), {
        kind: 'operation-read',
        operation: unknown,
      });
      expect(result.rule).toBe('fail:retry');
      expect(result.next).toMatchObject({ status: 'Pending', lastErrorCode: 'UNKNOWN_ERROR', nextCheckAt: at(60) });
      // The failed operation's predicted end says nothing about the next attempt.
      expect(result.next?.expectedFinishAt).toBeUndefined();
      expect(enqueued(result)).toMatchObject({ message: { kind: 'start' }, delaySeconds: 60 });
      expect(result.effects.some((effect) => effect.kind === 'record-outcome')).toBe(false);
    });

    it('fail:final: the last attempt ends Failed with the final remediation and one outcome for the run', () => {
      const result = step(runningRow({ attempts: 3 }), { kind: 'operation-read', operation: unknown });
      expect(result.rule).toBe('fail:final');
      expect(result.next).toMatchObject({ status: 'Failed', lastErrorCode: 'UNKNOWN_ERROR' });
      expect(result.next?.remediation).toMatch(/operation id op-1/);
      expect(outcome(result)).toMatchObject({
        type: 'conversion.failed',
        errorCode: 'UNKNOWN_ERROR',
        generation: 'run-1',
      });
      const canceled = step(runningRow(), { kind: 'operation-read', operation: { status: 'Canceled' } });
      expect(canceled.next?.status).toBe('Canceled');
    });

    it('property: a failure retries exactly while attempts < maxAttempts and it is retryable', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 10 }), (attempts, maxAttempts) => {
          const result = transition(
            runningRow({ attempts, maxAttempts }),
            { kind: 'operation-read', operation: unknown },
            context(),
          );
          return result.rule === (attempts < maxAttempts ? 'fail:retry' : 'fail:final');
        }),
      );
    });

    it('a failure that may retry needs the policy retry delays (the driver passes them)', () => {
      const { retry: _retry, ...withoutRetry } = context();
      expect(() => transition(runningRow(), { kind: 'operation-read', operation: unknown }, withoutRetry)).toThrow(
        /retry delays/,
      );
    });
  });

  describe('sweep:*', () => {
    it('sweep:redrive-start: a Pending row whose lease ran out and whose next check passed is started again', () => {
      const result = step(pending({ leaseUntil: at(-10), nextCheckAt: at(-1) }), { kind: 'sweep' });
      expect(result.rule).toBe('sweep:redrive-start');
      expect(enqueued(result)).toMatchObject({ message: { kind: 'start', token: 'id-1' }, delaySeconds: 0 });
    });

    it('sweep:redrive-poll: a Running row quiet past the quiet time is polled again', () => {
      const result = step(runningRow({ nextCheckAt: at(-601) }), { kind: 'sweep' });
      expect(result.rule).toBe('sweep:redrive-poll');
      expect(enqueued(result).message).toMatchObject({ kind: 'poll', token: 'id-1' });
    });

    it('property sweep:idle: rows with a live lease, a future check or within the quiet time are left alone', () => {
      fc.assert(
        fc.property(fc.integer({ min: -599, max: 10_000 }), fc.integer({ min: 1, max: 10_000 }), (check, lease) => {
          const quietRunning = runningRow({ nextCheckAt: at(check) });
          const leased = pending({ leaseUntil: at(lease), nextCheckAt: at(-1) });
          return (
            transition(quietRunning, { kind: 'sweep' }, context()).rule === 'sweep:idle' &&
            step(leased, { kind: 'sweep' }).rule === 'sweep:idle'
          );
        }),
      );
    });
  });

  describe('cancel:*, delete:deleted, ignore', () => {
    it('cancel:canceled: an in-flight row is cancelled on ACR (must succeed) and ends Canceled', () => {
      const result = step(runningRow(), { kind: 'cancel-requested' });
      expect(result.rule).toBe('cancel:canceled');
      expect(result.effects[0]).toEqual({ kind: 'cancel-operation', operationId: 'op-1', bestEffort: false });
      expect(outcome(result)).toMatchObject({ type: 'conversion.canceled' });
      expect(step(pending(), { kind: 'cancel-requested' }).effects.map((effect) => effect.kind)).toEqual([
        'record-outcome',
      ]);
    });

    it('cancel:canceled records who asked (issue #17 § 2)', () => {
      const result = step(runningRow(), { kind: 'cancel-requested', by: 'writer-oid' });

      expect(result.next).toMatchObject({ status: 'Canceled', canceledBy: 'writer-oid' });
      expect(step(runningRow(), { kind: 'cancel-requested' }).next).not.toHaveProperty('canceledBy');
    });

    it('cancel:not-running: a finished row is left as it is', () => {
      expect(step(row('Succeeded'), { kind: 'cancel-requested' })).toEqual({ rule: 'cancel:not-running', effects: [] });
    });

    it('delete:deleted: a verified delete ends any row Deleted without lease or token', () => {
      const result = step(pending({ trackingToken: 't' }), { kind: 'delete-verified', eventId: 'evt-9' });
      expect(result.rule).toBe('delete:deleted');
      expect(result.next).toMatchObject({ status: 'Deleted', lastEventId: 'evt-9' });
      expect(result.next?.leaseUntil).toBeUndefined();
      expect(result.next?.trackingToken).toBeUndefined();
    });

    it('ignore: messages for a row in another state, no row, a second delete', () => {
      expect(step(row('Succeeded'), { kind: 'start-message' }).rule).toBe('ignore');
      expect(step(pending(), { kind: 'poll-message' }).rule).toBe('ignore');
      expect(step(undefined, { kind: 'sweep' }).rule).toBe('ignore');
      expect(step(row('Deleted'), { kind: 'delete-verified', eventId: 'e' }).rule).toBe('ignore');
    });
  });

  describe('stale:ignore (issue #17 §5: Event Grid delivers out of order and again for up to 24 h)', () => {
    const deletedAt = (seconds: number) => row('Deleted', { lastEventId: 'evt-del', lastEventTime: at(seconds) });

    it('a push older than the delete a Deleted row acted on does not bring it back', () => {
      const result = step(deletedAt(-30), decided({ mode: 'onPush' }, { eventId: 'evt-old', pushedAt: at(-60) }));
      expect(result).toEqual({ rule: 'stale:ignore', effects: [] });
    });

    it('a push newer than the delete starts over, and the row records its time', () => {
      const result = step(deletedAt(-30), decided({ mode: 'onPush' }, { eventId: 'evt-new', pushedAt: at(-10) }));
      expect(result.rule).toBe('decide:claim');
      expect(result.next).toMatchObject({ status: 'Pending', lastEventId: 'evt-new', lastEventTime: at(-10) });
    });

    it('a delete older than the push the row last acted on does not end it, whatever ACR says', () => {
      const live = runningRow({ lastEventId: 'evt-repush', lastEventTime: at(-10) });
      expect(step(live, { kind: 'delete-verified', eventId: 'evt-del', eventTime: at(-30) })).toEqual({
        rule: 'stale:ignore',
        effects: [],
      });
    });

    it('a newer delete ends the row and records its time; a row without a time or an event without one decides as before', () => {
      const live = runningRow({ lastEventTime: at(-30) });
      const deleted = step(live, { kind: 'delete-verified', eventId: 'evt-del', eventTime: at(-10) });
      expect(deleted.rule).toBe('delete:deleted');
      expect(deleted.next).toMatchObject({ status: 'Deleted', lastEventTime: at(-10) });
      expect(step(runningRow(), { kind: 'delete-verified', eventId: 'e', eventTime: at(-10) }).rule).toBe(
        'delete:deleted',
      );
      expect(step(live, { kind: 'delete-verified', eventId: 'e' }).next).toMatchObject({ lastEventTime: at(-30) });
      expect(step(deletedAt(-30), decided({ mode: 'onPush' })).rule).toBe('decide:claim');
    });

    it('an older push on a live row still adds its tag (pushes of one digest only add), keeping the newest time', () => {
      const skipped = row('Skipped', { tags: ['latest'], decidedWith: 'x', lastEventTime: at(-10) });
      const result = step(
        skipped,
        decided({ mode: 'onPush', tags: { include: ['v*'], exclude: [] } }, { tags: ['v1'], pushedAt: at(-30) }),
      );
      expect(result.rule).toBe('decide:claim');
      expect(result.next?.tags).toEqual(expect.arrayContaining(['latest', 'v1']));
      expect(result.next?.lastEventTime).toBe(at(-10));
    });

    it("property: no event older than the row's last one changes a Deleted row, nor any row by a delete", () => {
      const statuses: ConversionStatus[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Skipped', 'Deleted'];
      fc.assert(
        fc.property(fc.constantFrom(...statuses), fc.integer({ min: 1, max: 86_400 }), (status, olderBy) => {
          const record = row(status, { lastEventTime: at(0), leaseUntil: at(120) });
          const eventTime = at(-olderBy);
          const deletion = transition(record, { kind: 'delete-verified', eventId: 'e', eventTime }, context());
          const push = transition(record, decided({ mode: 'onPush' }, { pushedAt: eventTime }), context());
          return deletion.next === undefined && (status !== 'Deleted' || push.next === undefined);
        }),
      );
    });
  });

  describe("scenario 9: a row's tags are bounded", () => {
    it('property: at most maxRecordedTags, keeping the request and ACR current tags first when over', () => {
      const tag = fc.string({ minLength: 1, maxLength: 6 });
      fc.assert(
        fc.property(fc.array(tag, { maxLength: 120 }), fc.array(tag, { maxLength: 3 }), (recorded, requested) => {
          const tags = recordedTags(recorded, requested, []);
          return (
            tags.length <= maxRecordedTags &&
            new Set(tags).size === tags.length &&
            requested.every((requestedTag) => tags.includes(requestedTag))
          );
        }),
      );
    });

    it('under the bound the order is unchanged (recorded, requested, current)', () => {
      expect(recordedTags(['a', 'b'], ['c'], ['b', 'd'])).toEqual(['a', 'b', 'c', 'd']);
    });

    it('a decision on a row with many tags records at most the bound', () => {
      const many = Array.from({ length: 500 }, (_, index) => `t${index}`);
      const result = step(row('Skipped', { tags: many, decidedWith: 'old' }), decided({ mode: 'off' }));
      expect(result.next?.tags).toHaveLength(maxRecordedTags);
      expect(result.next?.tags[0]).toBe('1.0');
    });
  });
});

/*
 * Issue #18 § 6: a final record reads true on its own — its reason says it failed, an operation status comes with
 * the operation it belongs to, and its remediation names the registry instead of a `{registry}` placeholder.
 */
describe('a final failure agrees with itself', () => {
  const denied = acrError(403, 'DENIED');

  it('a start ACR refuses for good says it failed, not "eligible"', () => {
    const result = step(pending({ attempts: 1 }), { kind: 'start-refused', error: denied, reserved: true });

    expect(result.next?.status).toBe('Failed');
    expect(result.next?.reason).not.toBe('eligible');
    expect(result.next?.reason).toMatch(/^failed: DENIED/);
  });

  it('keeps no operation status without the operation it describes', () => {
    const result = step(pending({ attempts: 1, operationStatus: 'NotStarted' }), {
      kind: 'start-refused',
      error: denied,
      reserved: true,
    });

    expect(result.next?.operationId).toBeUndefined();
    expect(result.next?.operationStatus).toBeUndefined();
  });

  it('a failed operation keeps its id and status, and the reason names its code', () => {
    const result = step(runningRow({ attempts: 3 }), {
      kind: 'operation-read',
      operation: { status: 'Failed', details: 'UNSUPPORTED_MEDIATYPE: not an image' },
    });

    expect(result.next).toMatchObject({ status: 'Failed', operationId: 'op-1', operationStatus: 'Failed' });
    expect(result.next?.reason).toMatch(/^failed: UNSUPPORTED_MEDIATYPE/);
  });

  it('an operation ACR no longer knows leaves no status of it on the failed row', () => {
    const result = step(runningRow({ attempts: 3, operationStatus: 'NotStarted' }), {
      kind: 'operation-read',
      operation: undefined,
    });

    expect(result.next?.status).toBe('Failed');
    expect(result.next?.operationStatus).toBeUndefined();
    expect(result.next?.reason).toMatch(/^failed: OPERATION_UNKNOWN/);
  });

  it.each([
    [
      'an unknown error on every attempt',
      { status: 'Failed', details: 'Conversion operation failed due to an unknown error' },
    ],
    ['a canceled operation', { status: 'Canceled' }],
    ['an unrecognised failure', { status: 'Failed', details: 'SOMETHING_NEW happened' }],
  ])('%s: the remediation names the registry, never {registry}', (_name, operation) => {
    const result = step(runningRow({ attempts: 3 }), { kind: 'operation-read', operation });

    expect(result.next?.remediation).toContain('POST /api/registries/contoso/conversions');
    expect(result.next?.remediation).not.toContain('{registry}');
  });

  it('attempts spent without an outcome: the remediation names the registry', () => {
    const result = step(pending({ attempts: 3 }), {
      kind: 'registry-checked',
      referrerPresent: false,
      operation: undefined,
    });

    expect(result.rule).toBe('check:attempts-spent');
    expect(result.next?.remediation).toContain('POST /api/registries/contoso/conversions');
    expect(result.next?.remediation).not.toContain('{registry}');
  });
});
