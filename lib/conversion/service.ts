import pLimit from 'p-limit';
import { randomUUID } from 'node:crypto';
import type { RegistrySettings } from '../core/registries.js';
import type { Logger } from '../core/logging.js';
import type { RegistryReadiness } from '../policy/eligibility.js';
import type { PolicySource } from '../policy/model.js';
import { isAcrError } from '../core/errors.js';
import {
  isKnownStatus,
  isOngoing,
  type FetchedManifest,
  type ManifestAttributes,
  type StreamingOperationRef,
} from '../core/acr.js';
import { logMetrics } from '../core/metrics.js';
import { parseRegistryEvent } from './events.js';
import type { Clock } from '../core/clock.js';
import {
  type ConversionStore,
  type InFlightEntry,
  type RegistryGateway,
  type TrackingQueue,
  trackingMessageSchema,
} from './ports.js';
import type { Outbox } from '../core/outbox.js';
import { describeImage, type ConversionStatus, type ImageKey, type Versioned } from '../core/image.js';
import { inFlightStatuses, type ConversionRecord } from './record.js';
import { streamingArtifactsOf } from './streaming-artifacts.js';
import {
  decisionBasis,
  reconsiders,
  staleEvent,
  transition,
  type ConversionRequest,
  type ConversionSettings,
  type Effect,
  type LifecycleContext,
  type Observation,
  type Transition,
} from './lifecycle.js';

export { decisionBasis, type ConversionSettings } from './lifecycle.js';
export type RequestOptions = ConversionRequest;

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

export type EventOutcome =
  | 'rejected'
  | 'ignored'
  | 'stale'
  | 'deleted'
  | 'duplicate'
  | 'gone'
  | 'skipped'
  | 'claimed-elsewhere'
  | ConversionStatus;

/** How long after a push a 404 for its manifest or metadata counts as replication lag (then retried), in seconds. */
const pushVisibilitySeconds = 300;

/** How often a conditional write that lost to another worker is read and decided again before giving up. */
const conflictRounds = 5;

/**
 * From a pushed digest to a streamable image, exactly once: the driver of the lifecycle (lib/conversion/lifecycle.ts,
 * which decides every next state). It gathers observations — the row, the policy, ACR's answers — performs the
 * effects the transition names and writes the row. The conversion row is the lock: every write is ETag-conditional,
 * a lease bounds how long a crashed worker holds the start path, and only the queue message carrying the row's
 * current tracking token may act. Remote state is re-read before every action (referrer present? an operation
 * already running?), so duplicates, redeliveries and parallel instances converge on one conversion.
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
      log.warn(`event rejected: ${event.reason}`, { eventId: event.eventId, ...event.said });
      // Counted for the Azure Monitor rule `…-unknown-topic-events` (infra/app/alerts.bicep): events from a topic
      // that is not a configured registry mean a misrouted subscription or a leaked Event Grid key.
      logMetrics(log).count('event.rejected', {
        cause: event.cause,
        ...(event.cause === 'unknown-topic' ? { topic: event.said?.topic } : {}),
      });
      return 'rejected';
    }
    if (event.kind === 'ignored') {
      log.info(`event ignored: ${event.reason}`, { eventId: event.eventId });
      return 'ignored';
    }
    const key = { registry: event.registry, repository: event.repository, digest: event.digest };
    if (event.kind === 'deleted') return this.markDeleted(key, event.eventId, event.eventTime, log);
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
      // Before any call to ACR: a push older than the delete that ended the row is past (the lifecycle's
      // `stale:ignore`; a 404 for it would otherwise be taken for replication lag and redelivered for minutes).
      if (existing && staleEvent(existing.value, { kind: 'pushed', eventTime: options.pushedAt })) {
        this.logStale(existing.value, 'push', options.eventId, options.pushedAt, log);
        return 'stale';
      }
      // What a decision now would be made from (both cached: the policy 15 s, readiness 10 min).
      const applied = await this.deps.policies.policyFor(key.registry, key.repository);
      const readiness = await this.deps.readiness(this.registrySettings(key.registry), log);
      if (existing && !reconsiders(existing.value, options, decisionBasis(applied, readiness), this.now())) {
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
      // Under a native policy a push is ACR's only where ACR's switch is on: read it (issue #15).
      const acrSwitch =
        applied.policy.mode === 'native' && options.source === 'event'
          ? (await this.deps.gateway(key.registry).getRepositoryStreaming(key.repository)).convertPushedImages
          : undefined;
      const observation = {
        kind: 'decided',
        key,
        request: options,
        ...image,
        applied,
        readiness,
        ...(acrSwitch === undefined ? {} : { acrSwitch }),
      } as const;
      const decided = transition(existing?.value, observation, this.context());
      const written = await this.perform(existing, decided, log);
      if (written !== undefined) {
        if (decided.rule === 'decide:skip') return 'skipped';
        return this.startPath(written, checksOf(decided), log);
      }
      log.info(`${describeImage(key)}: another worker wrote the row meanwhile; deciding again`, fields);
    }
    // Rethrown, so the platform delivers the request again later.
    throw new Error(`${describeImage(key)}: the row kept changing while deciding (${conflictRounds} times)`);
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
      const started = transition(current.value, { kind: 'start-message' }, this.context());
      const written = await this.perform(current, started, log);
      if (written !== undefined && started.rule === 'start:renew-lease')
        await this.startPath(written, checksOf(started), log);
      return;
    }
    const polled = transition(current.value, { kind: 'poll-message' }, this.context());
    if (polled.rule !== 'poll:check') {
      await this.perform(current, polled, log);
      return;
    }
    const record = current.value;
    const gateway = this.deps.gateway(record.registry);
    let observation: Observation;
    try {
      const operation = await gateway.getOperation(record.repository, record.operationId!);
      const streamingReferrers =
        operation?.status === 'Succeeded'
          ? (await streamingArtifactsOf(gateway, record.repository, record.digest, lookupOf(record))).length
          : undefined;
      observation = {
        kind: 'operation-read',
        operation,
        ...(streamingReferrers === undefined ? {} : { streamingReferrers }),
      };
      const status = operation?.status;
      if (status !== undefined && !isKnownStatus(status) && record.operationStatus !== status)
        log.warn(`${describeImage(record)}: ACR reports an unknown operation status "${status}"; polling on`, {
          ...this.fields(record),
        });
    } catch (error) {
      // Not ACR's answer (storage, a bug): the queue delivers the message again.
      if (!isAcrError(error)) throw error;
      observation = { kind: 'tracking-error', error };
    }
    const mayFail = observation.kind === 'tracking-error' || !isOngoing(observation.operation?.status ?? 'Failed');
    const ctx = mayFail ? await this.failureContext(record, log) : this.context();
    await this.perform(current, transition(record, observation, ctx), log);
  }

  /**
   * Sweeper: re-drives conversions whose worker or tracking message was lost. Returns how many it re-drove. It
   * decides from the in-flight index (one query, whatever the table's size) and reads only the rows the index says
   * are due: the row, not the index, is what it acts on.
   */
  async sweep(log: Logger): Promise<number> {
    // The rows the index says are due are read and decided a few at a time, not one after another.
    const limit = pLimit(8);
    const sweeps: Array<Promise<boolean>> = [];
    for await (const entry of this.deps.store.listInFlight()) {
      if (transition(entry.indexed, { kind: 'sweep' }, this.context()).next === undefined) continue;
      sweeps.push(limit(() => this.sweepRow(entry, log)));
    }
    return (await Promise.all(sweeps)).filter(Boolean).length;
  }

  /** One row the index says is due: read, decided again on the row itself, re-driven or its entry released. */
  private async sweepRow(entry: InFlightEntry, log: Logger): Promise<boolean> {
    const current = await this.deps.store.read(entry.indexed);
    if (current === undefined || !inFlightStatuses.has(current.value.status)) {
      await entry.release(current?.value);
      return false;
    }
    const swept = transition(current.value, { kind: 'sweep' }, this.context());
    return swept.next !== undefined && (await this.perform(current, swept, log)) !== undefined;
  }

  /** Cancels a running conversion by hand. */
  async cancel(key: ImageKey, log: Logger, by?: string): Promise<ConversionRecord | undefined> {
    const current = await this.deps.store.read(key);
    if (current === undefined) return undefined;
    const canceled = transition(
      current.value,
      by === undefined ? { kind: 'cancel-requested' } : { kind: 'cancel-requested', by },
      this.context(),
    );
    if (canceled.next === undefined) return current.value;
    const written = await this.perform(current, canceled, log);
    return written?.value ?? (await this.deps.store.read(key))?.value;
  }

  /**
   * From a claimed row (this worker holds the lease): referrer present → done; conversion already running → adopt
   * it; otherwise reserve the attempt and request one. ACR's errors go through the lifecycle (`start-refused`);
   * anything else gives the lease up at once and is rethrown for the platform to redeliver.
   */
  private async startPath(
    claimed: Versioned<ConversionRecord>,
    checks: Effect | undefined,
    log: Logger,
  ): Promise<EventOutcome> {
    const gateway = this.deps.gateway(claimed.value.registry);
    const record = claimed.value;
    // The row as this worker last wrote it (a reserved attempt changes it).
    let current = claimed;
    let reserved = false;
    // The reads before the start end inside the lease too (the transport starts no retry after it).
    const withinLease = checks?.kind === 'check-registry' ? { notAfter: checks.notAfter } : {};
    try {
      // The first push of a new digest: what the reads would answer is known (firstPushOfNewDigest).
      const known = checks?.kind === 'check-registry' && checks.known === 'new-digest';
      const referrers = known
        ? []
        : await streamingArtifactsOf(gateway, record.repository, record.digest, {
            ...lookupOf(record),
            ...withinLease,
          });
      const operation =
        known || referrers.length > 0
          ? undefined
          : await gateway.getStreamingOperation(record.repository, record.digest, withinLease);
      const checked = transition(
        record,
        { kind: 'registry-checked', referrerPresent: referrers.length > 0, operation },
        this.context(),
      );
      if (checked.rule === 'check:lease-lapsed') {
        log.warn(`${describeImage(record)}: the lease ran out before the start; another worker takes over`, {
          ...this.fields(record),
        });
        return 'claimed-elsewhere';
      }
      const written = await this.perform(current, checked, log);
      if (written === undefined) return 'claimed-elsewhere';
      if (checked.rule !== 'check:reserve') return written.value.status;
      current = written;
      reserved = true;
      const start = checked.effects.find((effect) => effect.kind === 'start-conversion');
      const requested = await this.startOrAdopt(gateway, current.value, start!.notAfter);
      const answered = transition(current.value, { kind: 'start-answered', operation: requested }, this.context());
      if ((await this.perform(current, answered, log)) === undefined) {
        log.warn(`${describeImage(record)}: lost the claim while starting; the other worker continues`, {
          ...this.fields(record),
          operationId: requested.id,
        });
        return 'claimed-elsewhere';
      }
      return 'Running';
    } catch (error) {
      if (!isAcrError(error)) {
        // Not ACR's answer (storage, a bug): let the next worker in at once and let the platform redeliver.
        await this.perform(current, transition(current.value, { kind: 'start-crashed' }, this.context()), log).catch(
          () => undefined,
        );
        throw error;
      }
      const refused = transition(
        current.value,
        { kind: 'start-refused', error, reserved },
        await this.failureContext(current.value, log),
      );
      if (refused.rule === 'start:later')
        log.warn(
          `${describeImage(record)}: ACR answered ${error.status} ${error.code} while starting; trying again in ${refused.delaySeconds}s`,
          { ...this.fields(record), errorCode: error.code },
        );
      await this.perform(current, refused, log);
      return refused.rule === 'start:later' ? 'Pending' : 'Failed';
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
      const running = await gateway.getStreamingOperation(record.repository, record.digest, { notAfter });
      if (running === undefined || !isOngoing(running.status)) throw error;
      return running;
    }
  }

  /**
   * `ImageDeleted`: the row becomes `Deleted` only once ACR says the manifest is gone (404). A delete that arrives
   * after the image was pushed again, or one nobody made, must not end a live image's record. A write that loses to
   * another worker's is read and decided again.
   */
  private async markDeleted(
    key: ImageKey,
    eventId: string,
    eventTime: string | undefined,
    log: Logger,
  ): Promise<EventOutcome> {
    let verified = false;
    for (let round = 1; round <= conflictRounds; round++) {
      const current = await this.deps.store.read(key);
      // Decided from the row first (again after a lost write: the winner may have been a newer push). ACR's 404
      // cannot tell a delete older than a re-push from a current one where a replica lags (A2); the times can.
      if (current !== undefined && staleEvent(current.value, { kind: 'deleted', eventTime })) {
        this.logStale(current.value, 'delete', eventId, eventTime, log);
        return 'stale';
      }
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
      const deleted = transition(
        current.value,
        { kind: 'delete-verified', eventId, ...(eventTime === undefined ? {} : { eventTime }) },
        this.context(),
      );
      if ((await this.perform(current, deleted, log)) !== undefined) {
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

  /** The log line of an event the lifecycle ignores as stale (`stale:ignore`). */
  private logStale(
    record: ConversionRecord,
    what: 'push' | 'delete',
    eventId: string | undefined,
    eventTime: string | undefined,
    log: Logger,
  ): void {
    log.warn(
      `${describeImage(record)}: stale ${what} event ignored: raised ${eventTime}, before the ${record.lastEventTime} event the row (${record.status}) acted on`,
      { ...this.fields(record), eventId, eventTime, lastEventId: record.lastEventId, status: record.status },
    );
  }

  /**
   * Performs a transition in the order that loses nothing: the outcome into the outbox (insert-if-absent) and a
   * cancel first, then the conditional write, then — only if the write was ours — the messages. Resolves the row as
   * written (the current one when nothing changes), or undefined when another worker wrote first.
   */
  private async perform(
    current: Versioned<ConversionRecord> | undefined,
    step: Transition,
    log: Logger,
  ): Promise<Versioned<ConversionRecord> | undefined> {
    const next = step.next;
    if (next === undefined) return current;
    for (const effect of step.effects) {
      if (effect.kind === 'cancel-operation') {
        const cancel = this.deps.gateway(next.registry).cancelOperation(next.repository, effect.operationId);
        if (effect.bestEffort)
          await cancel.catch((error: unknown) => log.warn(`cancel failed: ${String(error)}`, this.fields(next)));
        else await cancel;
      }
      if (effect.kind === 'record-outcome') await this.deps.outbox.append(effect.event);
      if (effect.kind === 'enable-acr-switch') {
        await this.deps.gateway(next.registry).setRepositoryStreaming(effect.repository, true);
        log.info(
          `${describeImage(next)}: ACR's switch for ${effect.repository} was off under a native policy; turned on`,
          {
            ...this.fields(next),
          },
        );
      }
    }
    const entersFlight = inFlightStatuses.has(next.status) && !(current && inFlightStatuses.has(current.value.status));
    const etag = await this.write(next, current?.etag, {
      recoverLostAnswer: step.rule === 'check:reserve',
      entersFlight,
    });
    if (etag === undefined) return undefined;
    for (const effect of step.effects)
      if (effect.kind === 'enqueue') await this.deps.queue.send(effect.message, effect.delaySeconds);
    this.report(step, next, log);
    return { value: next, etag };
  }

  /**
   * The conditional write: create for a first decision, else replace on the ETag read. `recoverLostAnswer`: when the
   * write seems to have lost but the row holds exactly what we wrote (the storage applied it and only its answer was
   * lost, so the SDK's retry met our own new ETag), the write was ours.
   */
  private async write(
    record: ConversionRecord,
    etag: string | undefined,
    { recoverLostAnswer, entersFlight }: { recoverLostAnswer: boolean; entersFlight: boolean },
  ): Promise<string | undefined> {
    if (etag === undefined) return this.deps.store.create(record);
    const written = await this.deps.store.replace(record, etag, { entersFlight });
    if (written !== undefined || !recoverLostAnswer) return written;
    const current = await this.deps.store.read(record);
    const ours =
      current !== undefined &&
      current.value.updatedAt === record.updatedAt &&
      current.value.attempts === record.attempts &&
      current.value.leaseUntil === record.leaseUntil &&
      current.value.reservation === record.reservation &&
      current.value.status === record.status;
    return ours ? current.etag : undefined;
  }

  /** The log line and metrics of a transition that was written. */
  private report(step: Transition, next: ConversionRecord, log: Logger): void {
    const fields = this.fields(next);
    const image = describeImage(next);
    const metrics = logMetrics(log);
    switch (step.rule) {
      case 'decide:skip':
        log.info(`${image}: skipped (${next.skipReason}): ${next.reason}`, { ...fields, skipReason: next.skipReason });
        return;
      case 'check:adopt':
      case 'start:running': {
        const adopted = step.rule === 'check:adopt';
        log.info(`${image}: conversion ${adopted ? 'adopted' : 'requested'} (attempt ${next.attempts})`, fields);
        metrics.count(adopted ? 'conversion.adopted' : 'conversion.requested', {
          registry: next.registry,
          source: next.source,
        });
        return;
      }
      case 'poll:again':
      case 'poll:recheck-referrer':
        log.debug(
          `${image}: ${next.operationStatus} ${next.progress ?? ''}; next poll in ${step.delaySeconds}s`,
          fields,
        );
        return;
      case 'poll:later':
        log.warn(`${image}: ACR answered ${next.lastErrorCode} while tracking; next poll in ${step.delaySeconds}s`, {
          ...fields,
          errorCode: next.lastErrorCode,
        });
        return;
      case 'fail:retry':
        log.warn(
          `${image}: attempt ${next.attempts} failed with ${step.failure?.class.code}; retrying in ${step.delaySeconds}s`,
          { ...fields, errorCode: step.failure?.class.code },
        );
        return;
      case 'sweep:redrive-start':
      case 'sweep:redrive-poll':
        log.warn(`${image}: tracking went quiet; re-driving (${step.rule.slice('sweep:redrive-'.length)})`, fields);
        return;
      default:
    }
    if (!step.effects.some((effect) => effect.kind === 'record-outcome')) return;
    const errorCode = step.failure?.class.code;
    metrics.count('conversion.finished', {
      registry: next.registry,
      status: next.status,
      errorCode,
      source: next.source,
    });
    if (next.status === 'Succeeded') {
      metrics.observe(
        'conversion.pushToStreamableSeconds',
        (this.now().getTime() - Date.parse(next.createdAt)) / 1000,
        { registry: next.registry },
      );
      log.info(`${image}: streamable (${next.reason})`, { ...fields, errorCode });
    } else
      log.error(`${image}: ${next.status}: ${errorCode ?? ''} ${step.failure?.message ?? ''}`, {
        ...fields,
        errorCode,
      });
  }

  /** The lifecycle's context now. */
  private context(): LifecycleContext {
    return { now: this.now(), settings: this.deps.settings, newId: () => randomUUID(), random: this.random };
  }

  /** The context for an observation that can end in a failure: with the row's policy retry delays. */
  private async failureContext(record: ConversionRecord, log: Logger): Promise<LifecycleContext> {
    // Both cached (the policy 15 s, readiness 10 min): a refusal costs no extra call to name the right role.
    const registry = this.deps.registries.find((candidate) => candidate.name === record.registry);
    const [applied, readiness] = await Promise.all([
      this.deps.policies.policyFor(record.registry, record.repository),
      registry === undefined ? undefined : this.deps.readiness(registry, log),
    ]);
    return {
      ...this.context(),
      retry: applied.policy.retry,
      ...(readiness?.permissionsMode === undefined ? {} : { permissionsMode: readiness.permissionsMode }),
    };
  }

  private fields(record: ConversionRecord): Record<string, string | undefined> {
    return {
      registry: record.registry,
      repository: record.repository,
      digest: record.digest,
      operationId: record.operationId,
    };
  }

  private registrySettings(name: string): RegistrySettings {
    const registry = this.deps.registries.find((candidate) => candidate.name === name);
    if (registry === undefined) throw new Error(`registry ${name} is not configured`);
    return registry;
  }

  private now(): Date {
    return this.deps.clock.now();
  }
}

function checksOf(step: Transition): Effect | undefined {
  return step.effects.find((effect) => effect.kind === 'check-registry');
}

/** What the row knows of the image: a non-index needs no look at an index's children (streaming-artifacts.ts). */
function lookupOf(record: ConversionRecord): { mediaType?: string } {
  return record.mediaType === undefined ? {} : { mediaType: record.mediaType };
}
