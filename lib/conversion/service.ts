import { createHash, randomUUID } from 'node:crypto';
import type { RegistrySettings } from '../core/registries.js';
import type { Logger } from '../core/logging.js';
import { decide, type RegistryReadiness } from '../policy/eligibility.js';
import type { AppliedPolicy, PolicySource } from '../policy/model.js';
import { isAcrError, type AcrError } from '../core/errors.js';
import {
  isKnownStatus,
  isOngoing,
  streamingArtifactType,
  type FetchedManifest,
  type ManifestAttributes,
  type StreamingOperation,
  type StreamingOperationRef,
} from '../core/acr.js';
import { logMetrics } from '../core/metrics.js';
import { pollDelaySeconds, retryDelaySeconds } from './backoff.js';
import { parseRegistryEvent } from './events.js';
import {
  classifyOperationFailure,
  classifyAcrError,
  failureClass,
  finalRemediation,
  type FailureClass,
} from './failures.js';
import { inspectManifest } from './inspect.js';
import type { Clock } from '../core/clock.js';
import { type ConversionStore, type RegistryGateway, type TrackingQueue, trackingMessageSchema } from './ports.js';
import type { DomainEventType, Outbox } from '../core/outbox.js';
import { describeImage, repositoryKey, type ConversionStatus, type ImageKey, type Versioned } from '../core/image.js';
import { inFlightStatuses, type ConversionRecord, type ConversionSource } from './record.js';

export interface ConversionSettings {
  readonly firstPollSeconds: number;
  readonly maxPollSeconds: number;
  readonly leaseSeconds: number;
  readonly quietSeconds: number;
}

export interface ConversionDependencies {
  readonly registries: readonly RegistrySettings[];
  readonly gateway: (registry: string) => RegistryGateway;
  readonly store: ConversionStore;
  readonly outbox: Outbox;
  readonly queue: TrackingQueue;
  readonly policies: PolicySource;
  readonly readiness: (registry: RegistrySettings, log: Logger) => Promise<RegistryReadiness>;
  readonly settings: ConversionSettings;
  readonly clock: Clock;
  readonly random?: () => number;
}

export interface RequestOptions {
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
}

export type EventOutcome =
  'rejected' | 'ignored' | 'deleted' | 'duplicate' | 'gone' | 'skipped' | 'claimed-elsewhere' | ConversionStatus;

/** Referrer checks after ACR says Succeeded, before concluding the streaming artifact is missing. */
const referrerChecks = 3;

/** How long after a push a 404 for its manifest or metadata counts as replication lag (then retried), in seconds. */
const pushVisibilitySeconds = 300;

/** How often a conditional write that lost to another worker is read and decided again before giving up. */
const conflictRounds = 5;

/**
 * From a pushed digest to a streamable image, exactly once. The conversion row is the lock: claiming it is an
 * ETag-conditional write, a lease bounds how long a crashed worker holds it, and only the queue message carrying
 * the row's current tracking token may act. Remote state is re-read before every action (referrer present? an
 * operation already running?), so duplicates, redeliveries and parallel instances converge on one conversion.
 *
 * Errors: transient upstream failures are rethrown (Event Grid and the queue redeliver); invalid input and
 * permanent failures are recorded and never thrown.
 */
export class ConversionService {
  private readonly random: () => number;

  constructor(private readonly deps: ConversionDependencies) {
    this.random = deps.random ?? Math.random;
  }

  /** Event Grid entry point. */
  async handleEvent(raw: unknown, log: Logger): Promise<EventOutcome> {
    const event = parseRegistryEvent(raw, this.deps.registries);
    if (event.kind === 'rejected') {
      log.warn(`event rejected: ${event.reason}`, { eventId: event.eventId });
      return 'rejected';
    }
    if (event.kind === 'ignored') {
      log.info(`event ignored: ${event.reason}`, { eventId: event.eventId });
      return 'ignored';
    }
    const key = { registry: event.registry, repository: event.repository, digest: event.digest };
    if (event.kind === 'deleted') return this.markDeleted(key, event.eventId, log);
    return this.request(
      key,
      {
        source: 'event',
        tags: event.tag ? [event.tag] : [],
        eventId: event.eventId,
        ...(event.eventTime ? { pushedAt: event.eventTime } : {}),
      },
      log,
    );
  }

  /**
   * Decides for one image and, when eligible, starts (or adopts) its conversion. A conditional write that loses to
   * another worker's is never taken as "someone else handled it": the row is read again and the decision made again
   * with what this request brings (a tag the other event did not have may make it eligible), a few times at most.
   */
  async request(key: ImageKey, options: RequestOptions, log: Logger): Promise<EventOutcome> {
    const fields = { ...key, eventId: options.eventId, source: options.source };
    let image: { manifest: FetchedManifest; attributes: ManifestAttributes | undefined } | undefined;
    for (let round = 1; round <= conflictRounds; round++) {
      const existing = await this.deps.store.read(key);
      // What a decision now would be made from (both cached: the policy 15 s, readiness 10 min).
      const applied = await this.deps.policies.policyFor(key.registry, key.repository);
      const readiness = await this.deps.readiness(this.registrySettings(key.registry), log);
      const basis = decisionBasis(applied, readiness);
      if (existing && !this.worthReconsidering(existing.value, options, basis)) {
        log.info(`${describeImage(key)}: already ${existing.value.status}; nothing to do`, fields);
        return 'duplicate';
      }
      if (image === undefined) {
        const gateway = this.deps.gateway(key.registry);
        const manifest = await gateway.getManifest(key.repository, key.digest);
        if (manifest === undefined) {
          this.assertNotLagging(key, options, 'manifest', log);
          log.warn(`${describeImage(key)}: manifest no longer exists; nothing to convert`, fields);
          return 'gone';
        }
        const attributes = await gateway.getManifestAttributes(key.repository, key.digest);
        if (attributes === undefined) this.assertNotLagging(key, options, 'metadata', log);
        image = { manifest, attributes };
      }
      const outcome = await this.decideAndWrite(key, options, existing, image, { applied, readiness, basis }, log);
      if (outcome !== 'conflict') return outcome;
      log.info(`${describeImage(key)}: another worker wrote the row meanwhile; deciding again`, fields);
    }
    // Rethrown, so the platform delivers the request again later.
    throw new Error(`${describeImage(key)}: the row kept changing while deciding (${conflictRounds} times)`);
  }

  /** One decision and its conditional write: `conflict` when another worker wrote the row first. */
  private async decideAndWrite(
    key: ImageKey,
    options: RequestOptions,
    existing: Versioned<ConversionRecord> | undefined,
    { manifest, attributes }: { manifest: FetchedManifest; attributes: ManifestAttributes | undefined },
    { applied, readiness, basis }: { applied: AppliedPolicy; readiness: RegistryReadiness; basis: string },
    log: Logger,
  ): Promise<EventOutcome | 'conflict'> {
    const fields = { ...key, eventId: options.eventId, source: options.source };
    const tags = [...new Set([...(existing?.value.tags ?? []), ...options.tags, ...(attributes?.tags ?? [])])];
    const facts = inspectManifest(key.repository, manifest, attributes, tags);
    const decision = decide(applied.policy, facts, readiness, {
      ignoreTagRules: options.manual ?? false,
      ignorePlatform: options.force ?? false,
      push: options.source === 'event',
    });
    const now = this.now();
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
      decidedWith: basis,
      source: options.source,
      attempts: 0,
      maxAttempts: applied.policy.retry.maxAttempts,
      polls: 0,
      ...(options.eventId ? { lastEventId: options.eventId } : {}),
      createdAt: existing?.value.createdAt ?? now.toISOString(),
      updatedAt: now.toISOString(),
    };
    if (!decision.eligible) {
      const written = await this.write({ ...base, skipReason: decision.skip }, existing?.etag);
      log.info(`${describeImage(key)}: skipped (${decision.skip}): ${decision.reason}`, {
        ...fields,
        skipReason: decision.skip,
      });
      return written ? 'skipped' : 'conflict';
    }
    // A row still in flight (an abandoned Pending) continues its run; anything else starts a new one.
    const continuing = existing !== undefined && inFlightStatuses.has(existing.value.status);
    const claimed: ConversionRecord = {
      ...base,
      generation: (continuing ? existing.value.generation : undefined) ?? randomUUID(),
      status: 'Pending',
      leaseUntil: this.after(this.deps.settings.leaseSeconds).toISOString(),
      deadlineAt: this.after(applied.policy.deadlineMinutes * 60).toISOString(),
    };
    const etag = await this.write(claimed, existing?.etag);
    if (etag === undefined) return 'conflict';
    return this.startOnRegistry({ value: claimed, etag }, log);
  }

  /**
   * A 404 within minutes of the push is a replica that has not caught up (a geo-replicated registry serves reads
   * from the nearest one), not a deleted image or one without a platform: rethrown, so Event Grid delivers the
   * event again after its backoff (10 s, 30 s, 1 min, 5 min). docs/assumptions.md A2.
   */
  private assertNotLagging(key: ImageKey, options: RequestOptions, what: string, log: Logger): void {
    if (options.pushedAt === undefined) return;
    const age = (this.now().getTime() - Date.parse(options.pushedAt)) / 1000;
    // Only a push time that is plausible counts: a minute of clock skew, nothing from the future (a forged or
    // broken event must not make the app answer 5xx and be delivered again and again).
    if (!(age >= -60 && age <= pushVisibilitySeconds)) return;
    log.warn(`${describeImage(key)}: ACR does not serve the ${what} yet, ${Math.round(age)} s after the push`, {
      ...key,
      eventId: options.eventId,
    });
    throw new Error(`${describeImage(key)}: the ${what} is not visible yet (${Math.round(age)} s after its push)`);
  }

  /** Queue entry point: a `start` (retry, sweeper, backfill) or a `poll` of the running operation. */
  async track(raw: unknown, log: Logger): Promise<void> {
    const parsed = trackingMessageSchema.safeParse(raw);
    if (!parsed.success) {
      log.warn(
        `tracking message rejected: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      );
      return;
    }
    const message = parsed.data;
    const current = await this.deps.store.read(message);
    if (current === undefined || current.value.trackingToken !== message.token) {
      log.info(`${describeImage(message)}: stale ${message.kind} message dropped`, {
        registry: message.registry,
        repository: message.repository,
        digest: message.digest,
      });
      return;
    }
    if (message.kind === 'start') {
      if (current.value.status !== 'Pending') return;
      if (this.pastDeadline(current.value)) {
        await this.finish(
          current,
          'TimedOut',
          failureClass('TIMED_OUT'),
          `still waiting to start at the deadline (${current.value.deadlineAt ?? ''})`,
          log,
        );
        return;
      }
      const claimed = {
        ...current.value,
        leaseUntil: this.after(this.deps.settings.leaseSeconds).toISOString(),
        updatedAt: this.now().toISOString(),
      };
      const etag = await this.deps.store.replace(claimed, current.etag);
      if (etag !== undefined) await this.startOnRegistry({ value: claimed, etag }, log);
      return;
    }
    if (current.value.status !== 'Running') return;
    try {
      await this.poll(current, log);
    } catch (error) {
      // Not ACR's answer (storage, a bug): the queue delivers the message again.
      if (!isAcrError(error)) throw error;
      // ACR's answer, through the one classifier: transient ones back off on the row until the deadline (poll checks
      // it first); the rest end the conversion with the code and the fix — never the poison queue, never a loop.
      if (error.transient) await this.pollLater(current, error, log);
      else
        await this.fail(
          current,
          classifyAcrError(error.status, error.code, error.details.reason),
          error.message,
          error.details.correlationId,
          log,
        );
    }
  }

  /** Another poll after a transient ACR failure: backed off (ACR's Retry-After when it sent one, capped), counted. */
  private async pollLater(current: Versioned<ConversionRecord>, error: AcrError, log: Logger): Promise<void> {
    const record = current.value;
    const errors = (record.transientErrors ?? 0) + 1;
    const backoff = pollDelaySeconds(
      errors,
      this.deps.settings.firstPollSeconds,
      this.deps.settings.maxPollSeconds,
      this.random,
    );
    const asked = error.details.retryAfterMs === undefined ? undefined : Math.ceil(error.details.retryAfterMs / 1000);
    const delay = Math.max(1, Math.min(this.deps.settings.maxPollSeconds, asked ?? backoff));
    const changes = {
      transientErrors: errors,
      lastErrorCode: error.code,
      lastErrorMessage: error.message.slice(0, 2_000),
    };
    if (!(await this.schedulePoll(current, changes, delay))) return;
    log.warn(
      `${describeImage(record)}: ACR answered ${error.status} ${error.code} while tracking; next poll in ${delay}s`,
      {
        registry: record.registry,
        repository: record.repository,
        digest: record.digest,
        operationId: record.operationId,
        errorCode: error.code,
      },
    );
  }

  /**
   * Writes the row with `changes`, a new tracking token and the next check, then enqueues the poll carrying that
   * token (older messages die). False when another worker wrote the row first: nothing is enqueued.
   */
  private async schedulePoll(
    current: Versioned<ConversionRecord>,
    changes: Partial<ConversionRecord>,
    delaySeconds: number,
  ): Promise<boolean> {
    const record = current.value;
    const token = randomUUID();
    const next: ConversionRecord = {
      ...record,
      ...changes,
      trackingToken: token,
      nextCheckAt: this.after(delaySeconds).toISOString(),
      updatedAt: this.now().toISOString(),
    };
    if ((await this.deps.store.replace(next, current.etag)) === undefined) return false;
    await this.deps.queue.send(
      { kind: 'poll', registry: record.registry, repository: record.repository, digest: record.digest, token },
      delaySeconds,
    );
    return true;
  }

  private pastDeadline(record: ConversionRecord): boolean {
    return record.deadlineAt !== undefined && Date.parse(record.deadlineAt) < this.now().getTime();
  }

  /** Sweeper: re-drives conversions whose worker or tracking message was lost. Returns how many it re-drove. */
  async sweep(log: Logger): Promise<number> {
    const now = this.now().getTime();
    const quietMs = this.deps.settings.quietSeconds * 1_000;
    let redriven = 0;
    for await (const entry of this.deps.store.listInFlight()) {
      const record = entry.value;
      const leaseOver = record.leaseUntil === undefined || Date.parse(record.leaseUntil) < now;
      const overdue = record.nextCheckAt === undefined || Date.parse(record.nextCheckAt) + quietMs < now;
      const stale =
        record.status === 'Pending'
          ? leaseOver && (record.nextCheckAt === undefined || Date.parse(record.nextCheckAt) < now)
          : overdue;
      if (!stale) continue;
      const kind = record.status === 'Pending' ? 'start' : 'poll';
      const token = randomUUID();
      const etag = await this.deps.store.replace(
        { ...record, trackingToken: token, nextCheckAt: this.now().toISOString(), updatedAt: this.now().toISOString() },
        entry.etag,
      );
      if (etag === undefined) continue;
      await this.deps.queue.send(
        { kind, registry: record.registry, repository: record.repository, digest: record.digest, token },
        0,
      );
      log.warn(`${describeImage(record)}: tracking went quiet; re-driving (${kind})`, {
        registry: record.registry,
        repository: record.repository,
        digest: record.digest,
        operationId: record.operationId,
      });
      redriven++;
    }
    return redriven;
  }

  /** Cancels a running conversion by hand. */
  async cancel(key: ImageKey, log: Logger): Promise<ConversionRecord | undefined> {
    const current = await this.deps.store.read(key);
    if (current === undefined) return undefined;
    if (current.value.status !== 'Running' && current.value.status !== 'Pending') return current.value;
    if (current.value.operationId)
      await this.deps.gateway(key.registry).cancelOperation(key.repository, current.value.operationId);
    const canceled = await this.finish(current, 'Canceled', failureClass('CANCELED'), 'canceled by request', log);
    return canceled ?? (await this.deps.store.read(key))?.value;
  }

  /**
   * Whether a request may change what the row says. A decision is made again when something it was made from
   * changed: a new tag, the policy or the registry's readiness (`decidedWith`), or — told by the caller, who just
   * asked ACR — the streaming artifact of a Succeeded image is gone.
   */
  private worthReconsidering(record: ConversionRecord, options: RequestOptions, basis: string): boolean {
    if (options.manual) return record.status !== 'Running' && !(record.status === 'Pending' && this.leaseHeld(record));
    if (record.status === 'Deleted') return true;
    if (record.status === 'Pending') return !this.leaseHeld(record) && record.trackingToken === undefined;
    if (record.status === 'Skipped')
      return record.decidedWith !== basis || options.tags.some((tag) => !record.tags.includes(tag));
    if (record.status === 'Succeeded') return options.referrerMissing === true;
    return false;
  }

  private leaseHeld(record: ConversionRecord): boolean {
    return record.leaseUntil !== undefined && Date.parse(record.leaseUntil) > this.now().getTime();
  }

  /** Referrer present → done; conversion already running → adopt it; otherwise request one. */
  private async startOnRegistry(claimed: Versioned<ConversionRecord>, log: Logger): Promise<EventOutcome> {
    const record = claimed.value;
    const gateway = this.deps.gateway(record.registry);
    const fields = { registry: record.registry, repository: record.repository, digest: record.digest };
    // The row's ETag as this worker last wrote it (a reserved attempt changes it).
    let etag = claimed.etag;
    try {
      const referrers = await gateway.listReferrers(record.repository, record.digest, streamingArtifactType);
      if (referrers.length > 0) {
        await this.finish(claimed, 'Succeeded', undefined, 'the streaming artifact already exists', log);
        return 'Succeeded';
      }
      let operation = await gateway.getStreamingOperation(record.repository, record.digest);
      const adopted = operation !== undefined && isOngoing(operation.status);
      let attempts: number;
      if (adopted) {
        // Ours from before a crash (already counted when it was requested), or one ACR started by itself.
        attempts = Math.max(record.attempts, 1);
      } else {
        // The lease must still be ours: a slow check above may have outlasted it, and then the sweeper may already
        // have handed the image to another worker.
        if (!this.leaseHeld(record)) {
          log.warn(`${describeImage(record)}: the lease ran out before the start; another worker takes over`, fields);
          return 'claimed-elsewhere';
        }
        // Reserve the attempt before asking ACR, so a crash between the POST and the next write cannot lose its
        // count (and let a re-drive exceed the policy's attempts); a crash before the POST only leaves one unused.
        // The reservation renews the lease, and the POST (with its waits for Retry-After) must end inside it.
        attempts = record.attempts + 1;
        const leaseUntil = this.after(this.deps.settings.leaseSeconds);
        const reservation: ConversionRecord = {
          ...record,
          attempts,
          leaseUntil: leaseUntil.toISOString(),
          updatedAt: this.now().toISOString(),
        };
        const reserved = (await this.deps.store.replace(reservation, etag)) ?? (await this.ownWrite(reservation));
        if (reserved === undefined) return 'claimed-elsewhere';
        etag = reserved;
        const margin = Math.min(5, this.deps.settings.leaseSeconds / 5) * 1_000;
        operation = await this.startOrAdopt(gateway, record, new Date(leaseUntil.getTime() - margin));
      }
      const token = randomUUID();
      const running: ConversionRecord = {
        ...withoutLease(record),
        status: 'Running',
        operationId: operation!.id,
        operationStatus: operation!.status,
        attempts,
        polls: 0,
        transientErrors: undefined,
        trackingToken: token,
        nextCheckAt: this.after(this.deps.settings.firstPollSeconds).toISOString(),
        startedAt: record.startedAt ?? this.now().toISOString(),
        updatedAt: this.now().toISOString(),
      };
      if ((await this.deps.store.replace(running, etag)) === undefined) {
        log.warn(`${describeImage(record)}: lost the claim while starting; the other worker continues`, {
          ...fields,
          operationId: operation!.id,
        });
        return 'claimed-elsewhere';
      }
      await this.deps.queue.send({ kind: 'poll', ...fields, token }, this.deps.settings.firstPollSeconds);
      log.info(
        `${describeImage(record)}: conversion ${adopted ? 'adopted' : 'requested'} (attempt ${running.attempts})`,
        { ...fields, operationId: operation!.id },
      );
      logMetrics(log).count(adopted ? 'conversion.adopted' : 'conversion.requested', {
        registry: record.registry,
        source: record.source,
      });
      return 'Running';
    } catch (error) {
      if (isAcrError(error) && (error.transient || error.status === 409)) {
        // ACR throttled or failed (the POST is never blindly repeated): the row is ours, so schedule our own prompt
        // retry of the start path — it re-checks ACR first — rather than wait for Event Grid's growing retry schedule.
        const asked = error.details.retryAfterMs === undefined ? 30 : Math.ceil(error.details.retryAfterMs / 1000);
        const delay =
          error.status === 429 ? Math.min(300, Math.max(1, asked)) : retryDelaySeconds(1, 5, 300, this.random);
        log.warn(
          `${describeImage(record)}: ACR answered ${error.status} ${error.code} while starting; trying again in ${delay}s`,
          { ...fields, errorCode: error.code },
        );
        // ACR answered with an error, so no operation was created: the reserved attempt is given back (a dropped
        // connection may have created one — the retry's GET _streaming/{digest} then adopts it).
        await this.scheduleStart({ value: record, etag }, delay, undefined, log);
        return 'Pending';
      }
      if (!isAcrError(error)) {
        // Not ACR's answer (storage, a bug): let the next worker in at once and let the platform redeliver.
        await this.deps.store
          .replace({ ...withoutLease(record), updatedAt: this.now().toISOString() }, etag)
          .catch(() => undefined);
        throw error;
      }
      const failure = classifyAcrError(error.status, error.code, error.details.reason);
      await this.fail(
        { value: { ...record, attempts: record.attempts + 1 }, etag },
        failure,
        `${error.message}`,
        error.details.correlationId,
        log,
      );
      return 'Failed';
    }
  }

  /**
   * `POST _streaming/{digest}`. ACR may refuse a start with 409 because a conversion of the digest is already in
   * progress (one that began after we looked: ACR's own switch, another worker); that operation is adopted. A 409
   * with nothing running is rethrown and retried like a transient failure.
   */
  private async startOrAdopt(
    gateway: RegistryGateway,
    record: ConversionRecord,
    notAfter: Date,
  ): Promise<StreamingOperationRef> {
    try {
      return await gateway.startStreamingConversion(record.repository, record.digest, { notAfter });
    } catch (error) {
      if (!isAcrError(error) || error.status !== 409) throw error;
      const running = await gateway.getStreamingOperation(record.repository, record.digest);
      if (running === undefined || !isOngoing(running.status)) throw error;
      return running;
    }
  }

  /**
   * After a conditional write failed: when the row holds exactly what we wrote (the storage applied it and only its
   * answer was lost, so the SDK's retry met our own new ETag), the write was ours — return the row's ETag.
   */
  private async ownWrite(written: ConversionRecord): Promise<string | undefined> {
    const current = await this.deps.store.read(written);
    const ours =
      current !== undefined &&
      current.value.updatedAt === written.updatedAt &&
      current.value.attempts === written.attempts &&
      current.value.leaseUntil === written.leaseUntil &&
      current.value.status === written.status;
    return ours ? current.etag : undefined;
  }

  private async poll(current: Versioned<ConversionRecord>, log: Logger): Promise<void> {
    const record = current.value;
    const fields = {
      registry: record.registry,
      repository: record.repository,
      digest: record.digest,
      operationId: record.operationId,
    };
    const gateway = this.deps.gateway(record.registry);
    if (this.pastDeadline(record)) {
      await gateway
        .cancelOperation(record.repository, record.operationId!)
        .catch((error: unknown) => log.warn(`cancel at deadline failed: ${String(error)}`, fields));
      await this.finish(
        current,
        'TimedOut',
        failureClass('TIMED_OUT'),
        `still running at the deadline (${record.deadlineAt})`,
        log,
      );
      return;
    }
    const operation = await gateway.getOperation(record.repository, record.operationId!);
    if (operation === undefined) {
      // Counts as a failed attempt, so an ACR that keeps forgetting operations cannot loop us forever.
      await this.fail(
        current,
        failureClass('OPERATION_UNKNOWN'),
        `operation ${record.operationId ?? ''} is no longer known to ACR`,
        undefined,
        log,
      );
      return;
    }
    const status = operation.status;
    if (isOngoing(status)) return this.pollAgain(current, operation, log);
    if (!isKnownStatus(status)) {
      // A status ACR added after this app was written: kept verbatim on the row, polled on until a known status or
      // the deadline (checked above) — never a parse error that sends the message to the poison queue.
      if (record.operationStatus !== status)
        log.warn(`${describeImage(record)}: ACR reports an unknown operation status "${status}"; polling on`, fields);
      return this.pollAgain(current, operation, log);
    }
    if (status === 'Succeeded') {
      const referrers = await gateway.listReferrers(record.repository, record.digest, streamingArtifactType);
      if (referrers.length > 0) {
        await this.finish(current, 'Succeeded', undefined, 'streaming artifact created', log, operation);
        return;
      }
      // Count the checks from the first Succeeded answer: `polls` also counts the polls while the operation ran,
      // so a conversion that took more than `referrerChecks` polls would otherwise get no re-check at all.
      const checks = record.operationStatus === 'Succeeded' ? record.polls : 0;
      if (checks < referrerChecks)
        return this.pollAgain({ ...current, value: { ...record, polls: checks } }, operation, log);
      await this.fail(
        current,
        failureClass('REFERRER_MISSING'),
        'ACR reported Succeeded but no streaming referrer exists',
        undefined,
        log,
      );
      return;
    }
    if (status === 'Failed' || status === 'Canceled')
      await this.fail(
        current,
        classifyOperationFailure(status, operation.details),
        operation.details ?? status,
        undefined,
        log,
      );
  }

  private async pollAgain(
    current: Versioned<ConversionRecord>,
    operation: StreamingOperation,
    log: Logger,
  ): Promise<void> {
    const record = current.value;
    const delay = pollDelaySeconds(
      record.polls + 1,
      this.deps.settings.firstPollSeconds,
      this.deps.settings.maxPollSeconds,
      this.random,
    );
    const changes = {
      operationStatus: operation.status,
      ...(operation.progress === undefined ? {} : { progress: operation.progress }),
      polls: record.polls + 1,
    };
    if (!(await this.schedulePoll(current, changes, delay))) return;
    log.debug(`${describeImage(record)}: ${operation.status} ${operation.progress ?? ''}; next poll in ${delay}s`, {
      registry: record.registry,
      repository: record.repository,
      digest: record.digest,
      operationId: record.operationId,
    });
  }

  /** Retries what is retryable within the policy's attempts; records everything else as final. */
  private async fail(
    current: Versioned<ConversionRecord>,
    failure: FailureClass,
    message: string,
    correlationId: string | undefined,
    log: Logger,
  ): Promise<void> {
    const record = current.value;
    if (failure.retryable && record.attempts < record.maxAttempts) {
      const applied = await this.deps.policies.policyFor(record.registry, record.repository);
      const delay = retryDelaySeconds(
        Math.max(1, record.attempts),
        applied.policy.retry.initialDelaySeconds,
        applied.policy.retry.maxDelaySeconds,
        this.random,
      );
      log.warn(
        `${describeImage(record)}: attempt ${record.attempts} failed with ${failure.code}; retrying in ${delay}s`,
        {
          registry: record.registry,
          repository: record.repository,
          digest: record.digest,
          operationId: record.operationId,
          errorCode: failure.code,
        },
      );
      await this.scheduleStart(current, delay, { failure, message, ...(correlationId ? { correlationId } : {}) }, log);
      return;
    }
    await this.finish(
      current,
      failure.code === 'CANCELED' ? 'Canceled' : 'Failed',
      failure,
      message,
      log,
      undefined,
      correlationId,
    );
  }

  private async scheduleStart(
    current: Versioned<ConversionRecord>,
    delaySeconds: number,
    error: { failure: FailureClass; message: string; correlationId?: string } | undefined,
    _log: Logger,
  ): Promise<void> {
    const record = current.value;
    const token = randomUUID();
    const pending: ConversionRecord = {
      ...withoutLease(record),
      status: 'Pending',
      trackingToken: token,
      nextCheckAt: this.after(delaySeconds).toISOString(),
      updatedAt: this.now().toISOString(),
      ...(error
        ? {
            lastErrorCode: error.failure.code,
            lastErrorMessage: error.message.slice(0, 2_000),
            remediation: error.failure.remediation,
          }
        : {}),
      ...(error?.correlationId ? { correlationId: error.correlationId } : {}),
    };
    if ((await this.deps.store.replace(pending, current.etag)) === undefined) return;
    await this.deps.queue.send(
      { kind: 'start', registry: record.registry, repository: record.repository, digest: record.digest, token },
      delaySeconds,
    );
  }

  /** Records a final state; the domain event goes to the outbox first, so a crash in between loses nothing. */
  private async finish(
    current: Versioned<ConversionRecord>,
    status: 'Succeeded' | 'Failed' | 'TimedOut' | 'Canceled',
    failure: FailureClass | undefined,
    message: string,
    log: Logger,
    operation?: StreamingOperation,
    correlationId?: string,
  ): Promise<ConversionRecord | undefined> {
    const record = current.value;
    const remediation = failure
      ? finalRemediation(failure, {
          ...(record.operationId ? { operationId: record.operationId } : {}),
          attempts: record.attempts,
        })
      : undefined;
    const final: ConversionRecord = {
      ...withoutLease(record),
      status,
      reason: status === 'Succeeded' ? message : record.reason,
      ...(operation
        ? { operationStatus: operation.status, ...(operation.progress ? { progress: operation.progress } : {}) }
        : {}),
      ...(failure ? { lastErrorCode: failure.code, lastErrorMessage: message.slice(0, 2_000) } : {}),
      ...(remediation ? { remediation } : {}),
      ...(correlationId ? { correlationId } : {}),
      trackingToken: undefined,
      nextCheckAt: undefined,
      completedAt: this.now().toISOString(),
      updatedAt: this.now().toISOString(),
    };
    const type: DomainEventType =
      status === 'Succeeded'
        ? 'conversion.succeeded'
        : status === 'TimedOut'
          ? 'conversion.timedOut'
          : status === 'Canceled'
            ? 'conversion.canceled'
            : 'conversion.failed';
    await this.deps.outbox.append({
      // One outcome per run: the run's id makes the event of a new run a new event (rows from before runs had ids
      // fall back to the attempt count).
      id: `${type}:${repositoryKey(record.repository)}@${record.digest}:${record.generation ?? record.attempts}`,
      type,
      time: this.now().toISOString(),
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
    });
    if ((await this.deps.store.replace(final, current.etag)) === undefined) return undefined;
    const fields = {
      registry: record.registry,
      repository: record.repository,
      digest: record.digest,
      operationId: record.operationId,
      errorCode: failure?.code,
    };
    const metrics = logMetrics(log);
    metrics.count('conversion.finished', {
      registry: record.registry,
      status,
      errorCode: failure?.code,
      source: record.source,
    });
    if (status === 'Succeeded')
      metrics.observe(
        'conversion.pushToStreamableSeconds',
        (this.now().getTime() - Date.parse(record.createdAt)) / 1000,
        { registry: record.registry },
      );
    if (status === 'Succeeded') log.info(`${describeImage(record)}: streamable (${message})`, fields);
    else log.error(`${describeImage(record)}: ${status}: ${failure?.code ?? ''} ${message}`, fields);
    return final;
  }

  /**
   * `ImageDeleted`: the row becomes `Deleted` only once ACR says the manifest is gone (404). A delete that arrives
   * after the image was pushed again, or one nobody made, must not end a live image's record. A write that loses to
   * another worker's is read and decided again.
   */
  private async markDeleted(key: ImageKey, eventId: string, log: Logger): Promise<EventOutcome> {
    let verified = false;
    for (let round = 1; round <= conflictRounds; round++) {
      const current = await this.deps.store.read(key);
      if (current === undefined || current.value.status === 'Deleted') {
        log.info(`${describeImage(key)}: image deleted; nothing was recorded for it`, { ...key, eventId });
        return 'deleted';
      }
      if (!verified) {
        const manifest = await this.deps.gateway(key.registry).getManifest(key.repository, key.digest);
        if (manifest !== undefined) {
          log.warn(`${describeImage(key)}: delete event ignored: ACR still serves the manifest`, {
            ...key,
            eventId,
            status: current.value.status,
          });
          return 'ignored';
        }
        verified = true;
      }
      const deleted: ConversionRecord = {
        ...withoutLease(current.value),
        status: 'Deleted',
        trackingToken: undefined,
        nextCheckAt: undefined,
        lastEventId: eventId,
        updatedAt: this.now().toISOString(),
      };
      if ((await this.deps.store.replace(deleted, current.etag)) !== undefined) {
        log.info(`${describeImage(key)}: image deleted; a later push starts over`, {
          ...key,
          eventId,
          operationId: current.value.operationId,
        });
        return 'deleted';
      }
    }
    // Rethrown, so Event Grid delivers the event again later.
    throw new Error(`${describeImage(key)}: the delete could not be recorded: the row changed ${conflictRounds} times`);
  }

  private async write(record: ConversionRecord, etag: string | undefined): Promise<string | undefined> {
    return etag === undefined ? this.deps.store.create(record) : this.deps.store.replace(record, etag);
  }

  private registrySettings(name: string): RegistrySettings {
    const registry = this.deps.registries.find((candidate) => candidate.name === name);
    if (registry === undefined) throw new Error(`registry ${name} is not configured`);
    return registry;
  }

  private now(): Date {
    return this.deps.clock.now();
  }

  private after(seconds: number): Date {
    return new Date(this.now().getTime() + seconds * 1000);
  }
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

function withoutLease(record: ConversionRecord): ConversionRecord {
  const { leaseUntil: _lease, ...rest } = record;
  return rest;
}
