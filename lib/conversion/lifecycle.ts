import { createHash } from 'node:crypto';
import type { AcrError } from '../core/errors.js';
import {
  isKnownStatus,
  isOngoing,
  type FetchedManifest,
  type ManifestAttributes,
  type StreamingOperation,
  type StreamingOperationRef,
} from '../core/acr.js';
import type { DomainEvent, DomainEventType } from '../core/outbox.js';
import { repositoryKey, type ImageKey } from '../core/image.js';
import { decide, type RegistryReadiness } from '../policy/eligibility.js';
import type { AppliedPolicy } from '../policy/model.js';
import { pollDelaySeconds, retryDelaySeconds } from './backoff.js';
import {
  classifyAcrError,
  classifyOperationFailure,
  failureClass,
  finalRemediation,
  type FailureClass,
} from './failures.js';
import { inspectManifest } from './inspect.js';
import type { TrackingMessage } from './ports.js';
import { nextPoll } from './poll-schedule.js';
import { inFlightStatuses, type ConversionRecord, type ConversionSource } from './record.js';

/*
 * The conversion lifecycle as one pure function: a row's state and an observation in, the next state and the
 * effects out. Nothing here reads a clock, draws a random number, calls ACR or storage: the driver
 * (ConversionService) gathers observations, performs the effects and writes the row with the ETag it read.
 * docs/architecture.md § Conversion lifecycle lists every rule; test/unit/lib/conversion/lifecycle.test.ts covers
 * them row by row.
 */

export interface ConversionSettings {
  readonly firstPollSeconds: number;
  readonly maxPollSeconds: number;
  readonly leaseSeconds: number;
  readonly quietSeconds: number;
  /** A push under a native policy waits this long for ACR's own operation before the app converts it (A6). */
  readonly acrPickupSeconds?: number;
}

/** Everything a transition may depend on besides the row and the observation. */
export interface LifecycleContext {
  readonly now: Date;
  readonly settings: ConversionSettings;
  /** A fresh id (tracking tokens, run ids). */
  readonly newId: () => string;
  /** In [0, 1): jitter. */
  readonly random: () => number;
  /** The applied policy's retry delays; needed only by observations that can end in a failure. */
  readonly retry?: { readonly initialDelaySeconds: number; readonly maxDelaySeconds: number };
  /** The registry's role-assignment mode when known (readiness): picks the role a DENIED remediation names. */
  readonly permissionsMode?: string;
}

export interface ConversionRequest {
  readonly source: ConversionSource;
  readonly tags: readonly string[];
  readonly eventId?: string;
  /** By hand: the owner asked for this image, so tag rules and the off switch do not apply. */
  readonly manual?: boolean;
  /** Attempt even where the platform looks unsupported (ACR decides). */
  readonly force?: boolean;
  /** The caller just found no streaming referrer in ACR (the audit): a Succeeded image is converted again. */
  readonly referrerMissing?: boolean;
  /** When the image was pushed (the event's time): a 404 soon after is replication lag, not a deleted image. */
  readonly pushedAt?: string;
  /** Who asked, for a start by hand: recorded on the row (issue #17 § 2). */
  readonly requestedBy?: string;
}

export type Observation =
  /** A request (push, backfill, audit, by hand) decided with the image's manifest, the policy and readiness. */
  | {
      readonly kind: 'decided';
      readonly key: ImageKey;
      readonly request: ConversionRequest;
      readonly manifest: FetchedManifest;
      readonly attributes: ManifestAttributes | undefined;
      readonly applied: AppliedPolicy;
      readonly readiness: RegistryReadiness;
      /** ACR's switch (`convertPushedImages`) for the repository, read for a push under a native policy. */
      readonly acrSwitch?: boolean;
    }
  /** A `start` tracking message carrying the row's token arrived. */
  | { readonly kind: 'start-message' }
  /** A `poll` tracking message carrying the row's token arrived. */
  | { readonly kind: 'poll-message' }
  /** What ACR holds for the image before a start: a streaming referrer, the ongoing operation of the digest. */
  | {
      readonly kind: 'registry-checked';
      readonly referrerPresent: boolean;
      readonly operation: StreamingOperationRef | undefined;
    }
  /** ACR accepted the start POST (any 2xx), or refused it with 409 and the running operation was adopted. */
  | { readonly kind: 'start-answered'; readonly operation: StreamingOperationRef }
  /** ACR answered the start path (a check or the POST) with an error; `reserved`: the attempt was reserved. */
  | { readonly kind: 'start-refused'; readonly error: AcrError; readonly reserved: boolean }
  /** The start path failed outside ACR (storage, a bug): the lease is given up, the caller rethrows. */
  | { readonly kind: 'start-crashed' }
  /**
   * The tracked operation as ACR reports it (undefined: ACR no longer knows it); with a Succeeded status, how many
   * streaming referrers the digest has.
   */
  | {
      readonly kind: 'operation-read';
      readonly operation: StreamingOperation | undefined;
      readonly streamingReferrers?: number;
    }
  /** ACR answered the tracking read with an error. */
  | { readonly kind: 'tracking-error'; readonly error: AcrError }
  /** The sweeper looked at an in-flight row. */
  | { readonly kind: 'sweep' }
  /** An owner cancelled by hand. */
  | { readonly kind: 'cancel-requested'; readonly by?: string }
  /** `ImageDeleted`, confirmed by ACR's 404 for the manifest; `eventTime`: when ACR raised it, if the event says. */
  | { readonly kind: 'delete-verified'; readonly eventId: string; readonly eventTime?: string };

export type Effect =
  /**
   * Look at ACR (streaming referrer? an ongoing operation?), no retry starting after `notAfter` (inside the lease),
   * and report `registry-checked`.
   */
  | {
      readonly kind: 'check-registry';
      readonly notAfter: Date;
      /**
       * `new-digest`: the first push of a digest this push created (`firstPushOfNewDigest`); nothing can hold a
       * streaming referrer for it, and an operation started since is met by the POST (A1), so ACR is not read and
       * `registry-checked` is reported as "no referrer, no operation".
       */
      readonly known?: 'new-digest';
    }
  /** `POST _streaming/{digest}`, no retry starting after `notAfter`; report `start-answered` or `start-refused`. */
  | { readonly kind: 'start-conversion'; readonly notAfter: Date }
  /** `GET _operations/{id}` (and the referrers once Succeeded); report `operation-read` or `tracking-error`. */
  | { readonly kind: 'check-operation' }
  /** Before the write; `bestEffort`: a failure is logged, not thrown. */
  | { readonly kind: 'cancel-operation'; readonly operationId: string; readonly bestEffort: boolean }
  /** Before the write: turn ACR's switch on for the repository (native mode; a failure is thrown). */
  | { readonly kind: 'enable-acr-switch'; readonly repository: string }
  /** Before the write (insert-if-absent), so a crash in between loses nothing. */
  | { readonly kind: 'record-outcome'; readonly event: DomainEvent }
  /** After the write, only if it succeeded. */
  | { readonly kind: 'enqueue'; readonly message: TrackingMessage; readonly delaySeconds: number };

/** The rules, one per row of the table in docs/architecture.md § Conversion lifecycle. */
export const rules = [
  'decide:skip',
  'decide:claim',
  'start:timed-out',
  'start:renew-lease',
  'check:referrer-present',
  'check:adopt',
  'check:follow-acr',
  'check:adopt-ended',
  'check:await-acr',
  'check:attempts-spent',
  'check:lease-lapsed',
  'check:reserve',
  'start:running',
  'start:later',
  'start:give-up-lease',
  'poll:timed-out',
  'poll:check',
  'poll:again',
  'poll:succeeded',
  'poll:recheck-referrer',
  'poll:later',
  'sweep:redrive-start',
  'sweep:redrive-poll',
  'sweep:idle',
  'cancel:canceled',
  'cancel:not-running',
  'delete:deleted',
  'stale:ignore',
  'ignore',
  'fail:retry',
  'fail:final',
] as const;
/** The rule that fired. */
export type Rule = (typeof rules)[number];

export interface Transition {
  readonly rule: Rule;
  /** The row to write, conditional on the ETag read; absent: nothing changes. */
  readonly next?: ConversionRecord;
  /** In the order the driver performs them (see {@link Effect} for when). */
  readonly effects: readonly Effect[];
  /** For a failure: its class and ACR's words, for the driver's log line. */
  readonly failure?: { readonly class: FailureClass; readonly message: string };
  /** The delay of the enqueued message, for the log line. */
  readonly delaySeconds?: number;
}

/**
 * How long a push under a native policy waits for ACR's own operation to show before the app converts it (by
 * default; NATIVE_PICKUP_SECONDS), and how often it looks meanwhile (docs/assumptions.md A6: ACR starts its
 * auto-conversion within seconds of a push).
 */
export const acrPickupSeconds = 120;
const acrPickupPollSeconds = 15;

/** Referrer checks after ACR says Succeeded, before concluding the streaming artifact is missing. */
export const referrerChecks = 3;

/** A row keeps at most this many tags (a digest can be tagged without end; a row and a table property cannot). */
export const maxRecordedTags = 50;

/** Calls made under a lease end this long before it does (at most 5 s, a fifth of a short lease). */
function leaseMarginMs(settings: ConversionSettings): number {
  return Math.min(5, settings.leaseSeconds / 5) * 1_000;
}

/** The checks before a start, bounded by the lease taken now. */
function checkRegistry(ctx: LifecycleContext, known?: 'new-digest'): Effect {
  const leaseEnd = ctx.now.getTime() + ctx.settings.leaseSeconds * 1_000;
  const notAfter = new Date(leaseEnd - leaseMarginMs(ctx.settings));
  return known === undefined ? { kind: 'check-registry', notAfter } : { kind: 'check-registry', notAfter, known };
}

/**
 * How far apart ACR's `createdTime` of a manifest and the `eventTime` of the push that created it may be, and how old
 * a push event may be for its first push to go without the referrer and operation reads, in seconds.
 */
export const newDigestWindowSeconds = 60;

/**
 * Whether a push is the first of a digest that this push created, so the checks before the start need not read ACR
 * (issue #19 § 2; docs/architecture.md § What each ACR call answers): the app has no row for the digest (it never
 * acted on it), the event is fresh, and ACR's metadata says the manifest was created by this push — not a digest
 * that existed before and was tagged again, which ACR or someone else may have converted (its referrers are read).
 * An operation started between the push and the POST (ACR's switch left on; the az CLI) is met by the POST itself:
 * ACR returns it or refuses with 409, and the app adopts it (A1). A conversion ACR's switch both started and ended
 * before the event arrived would be started once more (A18).
 */
export function firstPushOfNewDigest(
  existing: ConversionRecord | undefined,
  request: ConversionRequest,
  attributes: ManifestAttributes | undefined,
  now: Date,
): boolean {
  if (existing !== undefined || request.source !== 'event' || request.pushedAt === undefined) return false;
  const pushed = Date.parse(request.pushedAt);
  const created = Date.parse(attributes?.createdTime ?? '');
  if (!Number.isFinite(pushed) || !Number.isFinite(created)) return false;
  const window = newDigestWindowSeconds * 1_000;
  const age = now.getTime() - pushed;
  return created >= pushed - window && age >= -window && age <= window;
}

/**
 * What a decision is made from, as one short text: the applied policy (its scope and every field) and whether the
 * registry can convert. A row records it, and a later request with another basis decides again.
 */
export function decisionBasis(applied: AppliedPolicy, readiness: RegistryReadiness): string {
  const policy = createHash('sha256')
    .update(JSON.stringify([applied.scope, applied.policy]))
    .digest('hex');
  return `${policy.slice(0, 16)}|${readiness.ready ? 'ready' : 'not-ready'}`;
}

/**
 * Whether a request may change what the row says: a decision is made again when something it was made from
 * changed — a new tag, the policy or the registry's readiness (`decidedWith`), or (told by the caller, who just
 * asked ACR) the streaming artifact of a Succeeded image is gone. By hand, anything not being worked on.
 */
export function reconsiders(record: ConversionRecord, request: ConversionRequest, basis: string, now: Date): boolean {
  if (request.manual) return record.status !== 'Running' && !(record.status === 'Pending' && leaseHeld(record, now));
  if (record.status === 'Deleted') return true;
  if (record.status === 'Pending') return !leaseHeld(record, now) && record.trackingToken === undefined;
  if (record.status === 'Skipped')
    return record.decidedWith !== basis || request.tags.some((tag) => !record.tags.includes(tag));
  if (record.status === 'Succeeded') return request.referrerMissing === true;
  return false;
}

export function leaseHeld(record: ConversionRecord, now: Date): boolean {
  return record.leaseUntil !== undefined && Date.parse(record.leaseUntil) > now.getTime();
}

export function pastDeadline(record: ConversionRecord, now: Date): boolean {
  return record.deadlineAt !== undefined && Date.parse(record.deadlineAt) < now.getTime();
}

/**
 * Whether a registry event is older than the newest one the row acted on, and must not change it (rule
 * `stale:ignore`). Event Grid delivers out of order and redelivers a failed event for up to its time-to-live, a
 * day by default (learn.microsoft.com/azure/event-grid/delivery-and-retry), so a late event can describe a past the
 * row has moved beyond: a delete older than the push that (re)created the row, a push older than the delete that
 * ended it. A push older than a live row's last event is not stale: pushes of one digest only add tags, and
 * `reconsiders` already keeps them from restarting a run. Either time missing: not stale (decided as before). The
 * order of ACR's event times is docs/assumptions.md A14.
 */
export function staleEvent(
  record: ConversionRecord,
  event: { readonly kind: 'pushed' | 'deleted'; readonly eventTime?: string | undefined },
): boolean {
  if (record.lastEventTime === undefined || event.eventTime === undefined) return false;
  if (event.kind === 'pushed' && record.status !== 'Deleted') return false;
  return Date.parse(event.eventTime) < Date.parse(record.lastEventTime);
}

/** The newer of two event times, as ISO 8601 with ms (ACR writes 7 fractional digits). */
function newestEventTime(recorded: string | undefined, incoming: string | undefined): string | undefined {
  const times = [recorded, incoming].flatMap((time) => {
    const ms = time === undefined ? NaN : Date.parse(time);
    return Number.isFinite(ms) ? [ms] : [];
  });
  return times.length === 0 ? undefined : new Date(Math.max(...times)).toISOString();
}

/** The one transition function: `record` is undefined only for a first decision. */
export function transition(
  record: ConversionRecord | undefined,
  observation: Observation,
  ctx: LifecycleContext,
): Transition {
  if (observation.kind === 'decided') {
    if (record !== undefined && staleEvent(record, { kind: 'pushed', eventTime: observation.request.pushedAt }))
      return { rule: 'stale:ignore', effects: [] };
    return decided(record, observation, ctx);
  }
  if (record === undefined) return ignore();
  switch (observation.kind) {
    case 'start-message':
      return startMessage(record, ctx);
    case 'registry-checked':
      return registryChecked(record, observation, ctx);
    case 'start-answered':
      return running(record, observation.operation, record.attempts, 'start:running', ctx);
    case 'start-refused':
      return startRefused(record, observation.error, observation.reserved, ctx);
    case 'start-crashed':
      return {
        rule: 'start:give-up-lease',
        next: { ...withoutLease(record), updatedAt: ctx.now.toISOString() },
        effects: [],
      };
    case 'poll-message':
      return pollMessage(record, ctx);
    case 'operation-read':
      return operationRead(record, observation.operation, observation.streamingReferrers ?? 0, ctx);
    case 'tracking-error':
      return trackingError(record, observation.error, ctx);
    case 'sweep':
      return sweep(record, ctx);
    case 'cancel-requested': {
      if (!inFlightStatuses.has(record.status)) return { rule: 'cancel:not-running', effects: [] };
      const by = observation.by;
      const canceled = finish(
        by === undefined ? record : { ...record, canceledBy: by },
        'Canceled',
        failureClass('CANCELED'),
        by === undefined ? 'canceled by request' : `canceled by ${by}`,
        ctx,
        {
          cancel: record.operationId === undefined ? undefined : { operationId: record.operationId, bestEffort: false },
          rule: 'cancel:canceled',
        },
      );
      return canceled;
    }
    case 'delete-verified':
      if (staleEvent(record, { kind: 'deleted', eventTime: observation.eventTime }))
        return { rule: 'stale:ignore', effects: [] };
      if (record.status === 'Deleted') return ignore();
      return {
        rule: 'delete:deleted',
        next: {
          ...withoutLease(record),
          status: 'Deleted',
          trackingToken: undefined,
          reservation: undefined,
          nextCheckAt: undefined,
          lastEventId: observation.eventId,
          lastEventTime: newestEventTime(record.lastEventTime, observation.eventTime),
          updatedAt: ctx.now.toISOString(),
        },
        effects: [],
      };
  }
}

function decided(
  existing: ConversionRecord | undefined,
  { key, request, manifest, attributes, applied, readiness, acrSwitch }: Extract<Observation, { kind: 'decided' }>,
  ctx: LifecycleContext,
): Transition {
  const tags = recordedTags(existing?.tags ?? [], request.tags, attributes?.tags ?? []);
  const facts = inspectManifest(key.repository, manifest, attributes, tags);
  // Native mode holds only where ACR's switch is on (issue #15): for a repository created after the policy, or one
  // whose switch someone turned off, the push turns it on (later pushes are ACR's) and this image is the app's, as
  // ACR's auto-conversion does not apply to images pushed before the switch (docs/sources.md § Artifact streaming
  // limitations and troubleshooting).
  const switchOff = applied.policy.mode === 'native' && request.source === 'event' && acrSwitch === false;
  // With the switch on, the push is ACR's, and the app follows ACR's operation to its end (so ACR's own conversions
  // get the app's tracking, alerts and retries). A push that reached ACR just before its switch went on (a policy
  // change moving the scope to native while pushes were in flight) gets no operation from ACR: past a grace period
  // the app converts it (docs/assumptions.md A6).
  const acrConverts = applied.policy.mode === 'native' && request.source === 'event' && acrSwitch === true;
  const decided = decide(applied.policy, facts, readiness, {
    ignoreTagRules: request.manual ?? false,
    ignorePlatform: request.force ?? false,
    push: request.source === 'event' && !switchOff && !acrConverts,
  });
  const awaitAcrUntil =
    acrConverts && decided.eligible ? after(ctx, ctx.settings.acrPickupSeconds ?? acrPickupSeconds) : undefined;
  const decision =
    switchOff && decided.eligible
      ? {
          ...decided,
          reason: `mode native: ACR's switch for this repository was off; turned on (later pushes are ACR's), and this image is converted by the app`,
        }
      : awaitAcrUntil !== undefined
        ? {
            ...decided,
            reason: `mode native: ACR converts this push itself; the app follows ACR's operation (and converts the image if ACR has not started it by ${awaitAcrUntil})`,
          }
        : decided;
  const enableSwitch: Effect[] = switchOff ? [{ kind: 'enable-acr-switch', repository: key.repository }] : [];
  const now = ctx.now.toISOString();
  const base: ConversionRecord = {
    ...key,
    status: 'Skipped',
    tags,
    kind: facts.kind,
    mediaType: manifest.mediaType,
    platforms: facts.platforms.map((p) => `${p.os}/${p.architecture}`).join(','),
    ...(facts.sizeBytes === undefined ? {} : { sizeBytes: facts.sizeBytes }),
    reason: decision.reason,
    policyScope: applied.scope,
    decidedWith: decisionBasis(applied, readiness),
    source: request.source,
    attempts: 0,
    maxAttempts: applied.policy.retry.maxAttempts,
    polls: 0,
    ...(request.eventId ? { lastEventId: request.eventId } : {}),
    lastEventTime: newestEventTime(existing?.lastEventTime, request.pushedAt),
    ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  if (!decision.eligible)
    return { rule: 'decide:skip', next: { ...base, skipReason: decision.skip }, effects: enableSwitch };
  // A row still in flight (an abandoned Pending) continues its run; anything else starts a new one.
  const continuing = existing !== undefined && inFlightStatuses.has(existing.status);
  return {
    rule: 'decide:claim',
    next: {
      ...base,
      generation: (continuing ? existing.generation : undefined) ?? ctx.newId(),
      status: 'Pending',
      leaseUntil: after(ctx, ctx.settings.leaseSeconds),
      deadlineAt: after(ctx, applied.policy.deadlineMinutes * 60),
      awaitAcrUntil,
    },
    effects: [
      ...enableSwitch,
      checkRegistry(
        ctx,
        awaitAcrUntil === undefined && firstPushOfNewDigest(existing, request, attributes, ctx.now)
          ? 'new-digest'
          : undefined,
      ),
    ],
  };
}

/**
 * The tags a row keeps: those it had, this request's, ACR's current ones, in that order. Past the bound, this
 * request's and ACR's current tags come first and the oldest recorded ones go.
 */
export function recordedTags(
  recorded: readonly string[],
  requested: readonly string[],
  current: readonly string[],
): string[] {
  const merged = [...new Set([...recorded, ...requested, ...current])];
  if (merged.length <= maxRecordedTags) return merged;
  return [...new Set([...requested, ...current, ...recorded])].slice(0, maxRecordedTags);
}

function startMessage(record: ConversionRecord, ctx: LifecycleContext): Transition {
  if (record.status !== 'Pending') return ignore();
  if (pastDeadline(record, ctx.now))
    return finish(
      record,
      'TimedOut',
      failureClass('TIMED_OUT'),
      `still waiting to start at the deadline (${record.deadlineAt ?? ''})`,
      ctx,
      { rule: 'start:timed-out' },
    );
  return {
    rule: 'start:renew-lease',
    next: { ...record, leaseUntil: after(ctx, ctx.settings.leaseSeconds), updatedAt: ctx.now.toISOString() },
    effects: [checkRegistry(ctx)],
  };
}

function registryChecked(
  record: ConversionRecord,
  { referrerPresent, operation }: Extract<Observation, { kind: 'registry-checked' }>,
  ctx: LifecycleContext,
): Transition {
  if (referrerPresent)
    return finish(record, 'Succeeded', undefined, 'the streaming artifact already exists', ctx, {
      rule: 'check:referrer-present',
    });
  // A native push: ACR's operation of the digest (running or ended) is followed to its end and counts as the first
  // attempt. Not one the row already followed: after ACR's conversion failed, a retry is the app's own.
  if (record.awaitAcrUntil !== undefined && operation !== undefined && operation.id !== record.operationId)
    return running(record, operation, Math.max(record.attempts, 1), 'check:follow-acr', ctx);
  // Ours from before a crash (already counted when it was requested), or one ACR started by itself.
  if (operation !== undefined && isOngoing(operation.status))
    return running(record, operation, Math.max(record.attempts, 1), 'check:adopt', ctx);
  // A re-drive after a worker stopped between reserving an attempt and recording its outcome: a newer operation of
  // the digest than the row's is that attempt's, ended unseen — tracked, so the poll records how it ended.
  if (record.reservation !== undefined && operation !== undefined && operation.id !== record.operationId)
    return running(record, operation, record.attempts, 'check:adopt-ended', ctx);
  // Every attempt the policy allows is spent and none is reserved: no further POST; the row ends with the last
  // failure it knows.
  if (record.reservation === undefined && record.attempts >= record.maxAttempts) {
    const failure = record.lastErrorCode === undefined ? attemptsSpent(record) : failureClass(record.lastErrorCode);
    const message =
      record.lastErrorMessage ?? `all ${record.attempts} attempt(s) used; the last one's outcome is unknown`;
    return finish(record, 'Failed', failure, message, ctx, { rule: 'check:attempts-spent' });
  }
  // The lease must still be ours: a slow check may have outlasted it, and the sweeper may have handed the image on.
  if (!leaseHeld(record, ctx.now)) return { rule: 'check:lease-lapsed', effects: [] };
  // A native push ACR has not picked up yet: look again shortly, until the grace period is over.
  if (record.awaitAcrUntil !== undefined && Date.parse(record.awaitAcrUntil) > ctx.now.getTime()) {
    const remaining = Math.ceil((Date.parse(record.awaitAcrUntil) - ctx.now.getTime()) / 1_000);
    return pending(record, Math.min(acrPickupPollSeconds, remaining), undefined, 'check:await-acr', ctx);
  }
  const acrMissed =
    record.awaitAcrUntil === undefined
      ? {}
      : {
          awaitAcrUntil: undefined,
          reason: `mode native: ACR did not convert this push by ${record.awaitAcrUntil} (it reached ACR before the repository's switch was on); converted by the app`,
        };
  // Reserve the attempt before asking ACR, so a crash between the POST and the next write cannot lose its count
  // (and let a re-drive exceed the policy's attempts). A reservation still on the row (its worker stopped, and ACR
  // shows no operation from it) is used again, not counted twice. The reservation renews the lease, and the POST
  // (with its waits for Retry-After) must end inside it.
  const leaseUntil = ctx.now.getTime() + ctx.settings.leaseSeconds * 1_000;
  return {
    rule: 'check:reserve',
    next: {
      ...record,
      ...acrMissed,
      attempts: record.reservation === undefined ? record.attempts + 1 : record.attempts,
      reservation: ctx.newId(),
      leaseUntil: new Date(leaseUntil).toISOString(),
      updatedAt: ctx.now.toISOString(),
    },
    effects: [{ kind: 'start-conversion', notAfter: new Date(leaseUntil - leaseMarginMs(ctx.settings)) }],
  };
}

/** The failure of a row whose last attempt's outcome was never seen (this app's words, not ACR's). */
function attemptsSpent(record: ConversionRecord): FailureClass {
  return {
    code: 'ATTEMPTS_EXHAUSTED',
    retryable: false,
    remediation: `All ${record.maxAttempts} attempt(s) the policy allows were used; the outcome of the last one was not recorded (the app stopped after requesting it). Start the conversion again with POST /api/registries/${record.registry}/conversions.`,
  };
}

function running(
  record: ConversionRecord,
  operation: StreamingOperationRef,
  attempts: number,
  rule: 'start:running' | 'check:adopt' | 'check:adopt-ended' | 'check:follow-acr',
  ctx: LifecycleContext,
): Transition {
  const token = ctx.newId();
  const delay = ctx.settings.firstPollSeconds;
  return {
    rule,
    next: {
      ...withoutLease(record),
      status: 'Running',
      reservation: undefined,
      awaitAcrUntil: undefined,
      operationId: operation.id,
      operationStatus: operation.status,
      attempts,
      polls: 0,
      transientErrors: undefined,
      trackingToken: token,
      nextCheckAt: after(ctx, delay),
      startedAt: record.startedAt ?? ctx.now.toISOString(),
      updatedAt: ctx.now.toISOString(),
    },
    effects: [{ kind: 'enqueue', message: message('poll', record, token), delaySeconds: delay }],
    delaySeconds: delay,
  };
}

function startRefused(record: ConversionRecord, error: AcrError, reserved: boolean, ctx: LifecycleContext): Transition {
  if (error.transient || error.status === 409) {
    // ACR throttled or failed (the POST is never blindly repeated): the row is ours, so schedule our own prompt
    // retry of the start path — it re-checks ACR first — rather than wait for Event Grid's growing retry schedule.
    // ACR answered with an error, so no operation was created: the reserved attempt is given back (a dropped
    // connection may have created one — the retry's GET _streaming/{digest} then adopts it).
    const asked = error.details.retryAfterMs === undefined ? 30 : Math.ceil(error.details.retryAfterMs / 1000);
    const delay = error.status === 429 ? Math.min(300, Math.max(1, asked)) : retryDelaySeconds(1, 5, 300, ctx.random);
    const unreserved = reserved ? { ...record, attempts: record.attempts - 1 } : record;
    return pending(unreserved, delay, undefined, 'start:later', ctx);
  }
  const attempted = reserved ? record : { ...record, attempts: record.attempts + 1 };
  return fail(
    attempted,
    classifyAcrError(error.status, error.code, error.details.reason, ctx.permissionsMode),
    error.message,
    ctx,
    {
      correlationId: error.details.correlationId,
    },
  );
}

function pollMessage(record: ConversionRecord, ctx: LifecycleContext): Transition {
  if (record.status !== 'Running') return ignore();
  if (!pastDeadline(record, ctx.now)) return { rule: 'poll:check', effects: [{ kind: 'check-operation' }] };
  return finish(
    record,
    'TimedOut',
    failureClass('TIMED_OUT'),
    `still running at the deadline (${record.deadlineAt})`,
    ctx,
    {
      rule: 'poll:timed-out',
      cancel: record.operationId === undefined ? undefined : { operationId: record.operationId, bestEffort: true },
    },
  );
}

function operationRead(
  record: ConversionRecord,
  operation: StreamingOperation | undefined,
  streamingReferrers: number,
  ctx: LifecycleContext,
): Transition {
  // Counts as a failed attempt, so an ACR that keeps forgetting operations cannot loop us forever.
  if (operation === undefined)
    return fail(
      // ACR forgot the operation: its last status seen (often NotStarted) no longer describes anything.
      { ...record, operationStatus: undefined, progress: undefined },
      failureClass('OPERATION_UNKNOWN'),
      `operation ${record.operationId ?? ''} is no longer known to ACR`,
      ctx,
    );
  const status = operation.status;
  // A status ACR added after this app was written is kept verbatim on the row and polled on until a known status
  // or the deadline (checked first) — never a parse error that sends the message to the poison queue.
  if (!isKnownStatus(status) || isOngoing(status)) return pollOngoing(record, operation, ctx);
  if (status === 'Succeeded') {
    if (streamingReferrers > 0)
      return finish(record, 'Succeeded', undefined, 'streaming artifact created', ctx, {
        rule: 'poll:succeeded',
        operation,
      });
    // Count the checks from the first Succeeded answer: `polls` also counts the polls while the operation ran, so
    // a conversion that took more than `referrerChecks` polls would otherwise get no re-check at all.
    const checks = record.operationStatus === 'Succeeded' ? record.polls : 0;
    if (checks < referrerChecks) return pollAgain(record, operation, checks, 'poll:recheck-referrer', ctx);
    return fail(
      record,
      failureClass('REFERRER_MISSING'),
      'ACR reported Succeeded but no streaming referrer exists',
      ctx,
    );
  }
  const ended = { ...record, operationStatus: status };
  return fail(ended, classifyOperationFailure(status, operation.details), operation.details ?? status, ctx);
}

/**
 * An operation still running (or in a status this app does not know): the next poll at the finish its observed
 * progress predicts, else on the doubling schedule (lib/conversion/poll-schedule.ts). The readings of an earlier
 * operation of the row (`polls` is 0 again after a start) do not count.
 */
function pollOngoing(record: ConversionRecord, operation: StreamingOperation, ctx: LifecycleContext): Transition {
  const sameOperation = record.polls > 0;
  const baseline =
    sameOperation && record.progressBaselinePercent !== undefined && record.progressBaselineAt !== undefined
      ? { percent: record.progressBaselinePercent, at: record.progressBaselineAt }
      : undefined;
  const plan = nextPoll({
    polls: record.polls,
    status: operation.status,
    progress: operation.progress,
    previousProgress: sameOperation ? record.progress : undefined,
    baseline,
    previousExpectedFinishAt: sameOperation ? record.expectedFinishAt : undefined,
    now: ctx.now,
    firstPollSeconds: ctx.settings.firstPollSeconds,
    maxPollSeconds: ctx.settings.maxPollSeconds,
    random: ctx.random,
  });
  return scheduled(
    'poll',
    record,
    {
      operationStatus: operation.status,
      ...(operation.progress === undefined ? {} : { progress: operation.progress }),
      progressBaselinePercent: plan.baseline?.percent,
      progressBaselineAt: plan.baseline?.at,
      expectedFinishAt: plan.expectedFinishAt,
      polls: record.polls + 1,
    },
    plan.delaySeconds,
    'poll:again',
    ctx,
  );
}

function pollAgain(
  record: ConversionRecord,
  operation: StreamingOperation,
  polls: number,
  rule: 'poll:recheck-referrer',
  ctx: LifecycleContext,
): Transition {
  const delay = pollDelaySeconds(polls + 1, ctx.settings.firstPollSeconds, ctx.settings.maxPollSeconds, ctx.random);
  return scheduled(
    'poll',
    record,
    {
      operationStatus: operation.status,
      ...(operation.progress === undefined ? {} : { progress: operation.progress }),
      polls: polls + 1,
    },
    delay,
    rule,
    ctx,
  );
}

/**
 * ACR's error while tracking, through the one classifier: transient ones poll again later, backed off (ACR's
 * Retry-After when it sent one, capped), counted on the row, until the deadline (the poll checks it first); the
 * rest end the conversion with the code and the fix — never the poison queue, never a loop.
 */
function trackingError(record: ConversionRecord, error: AcrError, ctx: LifecycleContext): Transition {
  if (!error.transient)
    return fail(
      record,
      classifyAcrError(error.status, error.code, error.details.reason, ctx.permissionsMode),
      error.message,
      ctx,
      {
        correlationId: error.details.correlationId,
      },
    );
  const errors = (record.transientErrors ?? 0) + 1;
  const backoff = pollDelaySeconds(errors, ctx.settings.firstPollSeconds, ctx.settings.maxPollSeconds, ctx.random);
  const asked = error.details.retryAfterMs === undefined ? undefined : Math.ceil(error.details.retryAfterMs / 1000);
  const delay = Math.max(1, Math.min(ctx.settings.maxPollSeconds, asked ?? backoff));
  return scheduled(
    'poll',
    record,
    { transientErrors: errors, lastErrorCode: error.code, lastErrorMessage: error.message.slice(0, 2_000) },
    delay,
    'poll:later',
    ctx,
  );
}

/**
 * The row with `changes`, a new tracking token (older messages die) and the next check; the `kind` message carrying
 * the token, after `delay`.
 */
function scheduled(
  kind: 'start' | 'poll',
  record: ConversionRecord,
  changes: Partial<ConversionRecord>,
  delay: number,
  rule: Rule,
  ctx: LifecycleContext,
): Transition {
  const token = ctx.newId();
  return {
    rule,
    next: {
      ...record,
      ...changes,
      trackingToken: token,
      nextCheckAt: after(ctx, delay),
      updatedAt: ctx.now.toISOString(),
    },
    effects: [{ kind: 'enqueue', message: message(kind, record, token), delaySeconds: delay }],
    delaySeconds: delay,
  };
}

/**
 * The sweeper re-drives what went quiet: a `Pending` row whose lease ran out and whose next check passed, a
 * `Running` row whose next check is overdue by the quiet time (a lost message, a killed host).
 */
function sweep(record: ConversionRecord, ctx: LifecycleContext): Transition {
  const now = ctx.now.getTime();
  const nextCheck = record.nextCheckAt === undefined ? undefined : Date.parse(record.nextCheckAt);
  const stale =
    record.status === 'Pending'
      ? !leaseHeld(record, ctx.now) && (nextCheck === undefined || nextCheck < now)
      : record.status === 'Running' && (nextCheck === undefined || nextCheck + ctx.settings.quietSeconds * 1000 < now);
  if (!stale) return { rule: 'sweep:idle', effects: [] };
  const kind = record.status === 'Pending' ? 'start' : 'poll';
  return scheduled(kind, record, {}, 0, kind === 'start' ? 'sweep:redrive-start' : 'sweep:redrive-poll', ctx);
}

/** Retries what is retryable within the policy's attempts; records everything else as final. */
function fail(
  record: ConversionRecord,
  failure: FailureClass,
  message: string,
  ctx: LifecycleContext,
  extra: { correlationId?: string | undefined } = {},
): Transition {
  if (failure.retryable && record.attempts < record.maxAttempts) {
    if (ctx.retry === undefined) throw new Error('a failure needs the policy retry delays in the context');
    const delay = retryDelaySeconds(
      Math.max(1, record.attempts),
      ctx.retry.initialDelaySeconds,
      ctx.retry.maxDelaySeconds,
      ctx.random,
    );
    // The failed operation's predicted end says nothing about the next attempt.
    const retried = { ...record, expectedFinishAt: undefined };
    return {
      ...pending(retried, delay, { failure, message, correlationId: extra.correlationId }, 'fail:retry', ctx),
      failure: { class: failure, message },
    };
  }
  return finish(record, failure.code === 'CANCELED' ? 'Canceled' : 'Failed', failure, message, ctx, {
    rule: 'fail:final',
    correlationId: extra.correlationId,
  });
}

/** Back to `Pending` without a lease, with a new token, and a `start` message after `delay`. */
function pending(
  record: ConversionRecord,
  delay: number,
  error: { failure: FailureClass; message: string; correlationId: string | undefined } | undefined,
  rule: 'start:later' | 'fail:retry' | 'check:await-acr',
  ctx: LifecycleContext,
): Transition {
  const changes: Partial<ConversionRecord> = {
    status: 'Pending',
    reservation: undefined,
    ...(error
      ? {
          lastErrorCode: error.failure.code,
          lastErrorMessage: error.message.slice(0, 2_000),
          remediation: error.failure.remediation,
        }
      : {}),
    ...(error?.correlationId ? { correlationId: error.correlationId } : {}),
  };
  return scheduled('start', withoutLease(record), changes, delay, rule, ctx);
}

function finalReason(status: ConversionRecord['status'], failure: FailureClass | undefined, message: string): string {
  const said = message.slice(0, 500);
  if (status === 'Succeeded') return message;
  if (status === 'TimedOut') return `timed out: ${said}`;
  if (status === 'Canceled') return `canceled: ${said}`;
  return `failed: ${failure?.code ?? 'UNKNOWN'}: ${said}`;
}

/** A final state, and its domain event for the outbox (appended before the row is written). */
function finish(
  record: ConversionRecord,
  status: 'Succeeded' | 'Failed' | 'TimedOut' | 'Canceled',
  failure: FailureClass | undefined,
  message: string,
  ctx: LifecycleContext,
  options: {
    rule: Rule;
    operation?: StreamingOperation;
    correlationId?: string | undefined;
    cancel?: { operationId: string; bestEffort: boolean } | undefined;
  },
): Transition {
  const now = ctx.now.toISOString();
  const remediation = failure
    ? finalRemediation(failure, {
        registry: record.registry,
        ...(record.operationId ? { operationId: record.operationId } : {}),
        attempts: record.attempts,
      })
    : undefined;
  const operation = options.operation;
  // An operation's status and progress only mean something next to its id: a start ACR refused has neither.
  const withoutOperation = record.operationId === undefined ? { operationStatus: undefined, progress: undefined } : {};
  const final: ConversionRecord = {
    ...withoutLease(record),
    ...withoutOperation,
    status,
    // `reason` is what a reader sees first: on a final failure the decision's "eligible" would say the opposite.
    reason: finalReason(status, failure, message),
    ...(operation
      ? { operationStatus: operation.status, ...(operation.progress ? { progress: operation.progress } : {}) }
      : {}),
    ...(failure ? { lastErrorCode: failure.code, lastErrorMessage: message.slice(0, 2_000) } : {}),
    ...(remediation ? { remediation } : {}),
    ...(options.correlationId ? { correlationId: options.correlationId } : {}),
    trackingToken: undefined,
    reservation: undefined,
    nextCheckAt: undefined,
    expectedFinishAt: undefined,
    completedAt: now,
    updatedAt: now,
  };
  const type: DomainEventType =
    status === 'Succeeded'
      ? 'conversion.succeeded'
      : status === 'TimedOut'
        ? 'conversion.timedOut'
        : status === 'Canceled'
          ? 'conversion.canceled'
          : 'conversion.failed';
  const event: DomainEvent = {
    // One outcome per run: the run's id makes the event of a new run a new event (rows from before runs had ids
    // fall back to the attempt count).
    id: `${type}:${repositoryKey(record.repository)}@${record.digest}:${record.generation ?? record.attempts}`,
    type,
    time: now,
    registry: record.registry,
    repository: record.repository,
    digest: record.digest,
    ...(record.tags[0] ? { tag: record.tags[0] } : {}),
    ...(record.operationId ? { operationId: record.operationId } : {}),
    status,
    ...(failure ? { errorCode: failure.code, message: message.slice(0, 1_000) } : {}),
    ...(remediation ? { remediation } : {}),
    attempts: record.attempts,
    ...(record.generation ? { generation: record.generation } : {}),
  };
  const cancel = options.cancel;
  return {
    rule: options.rule,
    next: final,
    effects: [...(cancel ? [{ kind: 'cancel-operation' as const, ...cancel }] : []), { kind: 'record-outcome', event }],
    ...(failure ? { failure: { class: failure, message } } : {}),
  };
}

function ignore(): Transition {
  return { rule: 'ignore', effects: [] };
}

function message(kind: 'start' | 'poll', key: ImageKey, token: string): TrackingMessage {
  return { kind, registry: key.registry, repository: key.repository, digest: key.digest, token };
}

function after(ctx: LifecycleContext, seconds: number): string {
  return new Date(ctx.now.getTime() + seconds * 1000).toISOString();
}

export function withoutLease(record: ConversionRecord): ConversionRecord {
  const { leaseUntil: _lease, ...rest } = record;
  return rest;
}
