import { randomUUID } from 'node:crypto';
import type { EmulatorClock } from '../contract.js';
import type { MutableRegistryDefinition } from '../state.js';
import { buildStreamingReferrer, pushBuilt } from './content.js';
import { RegistryError } from './errors.js';
import { isImageConfigMediaType, STREAMING_ARTIFACT_TYPE } from './media-types.js';
import type { ManifestRecord, PushedManifest, RegistryStore } from './store.js';

/**
 * The artifact-streaming conversion simulator. Operations run on the virtual clock:
 * NotStarted (startDelayMs) → Running (progress rises over durationMs) → Succeeded, which pushes a real
 * streaming referrer into the repository (raising ImagePushed like any push) — or Failed/Canceled.
 *
 * Failure codes: ACR documents the codes (UNSUPPORTED_PLATFORM, NO_SUPPORTED_PLATFORM_FOUND,
 * UNSUPPORTED_MEDIATYPE, UNSUPPORTED_ARTIFACT_TYPE) and the message "Conversion operation failed due to an
 * unknown error" (docs/sources.md § Artifact streaming limitations and troubleshooting) but not where they appear on
 * the wire. The only free-text field of the operation document is `details` (docs/sources.md), so a failed
 * operation carries `details: "<CODE>: <message>"`; clients can split on the first ": ".
 */

export type OperationStatus = 'NotStarted' | 'Running' | 'Succeeded' | 'Failed' | 'Canceled';

export type ConversionOutcome = 'Succeeded' | 'UnknownError';

export interface ConversionBehaviour {
  /** Virtual ms spent NotStarted. */
  readonly startDelayMs: number;
  /** Virtual ms spent Running. */
  readonly durationMs: number;
  /** What an eligible image's conversion ends in. */
  readonly outcome: ConversionOutcome;
  /**
   * A start while a conversion of the digest is ongoing: answer it with that operation (202, the default), or
   * refuse with 409 naming it. ACR's own answer is not recorded (docs/assumptions.md); clients must take either.
   */
  readonly duplicateStart: 'same-operation' | 'conflict';
  /**
   * How a failed operation's `details` read: `"<CODE>: <message>"` (the default, this emulator's own format), or
   * the message alone, as ACR's documented sentence comes (docs/assumptions.md A3).
   */
  readonly failureDetails: 'coded' | 'free-text';
  /** What a running operation reports as its status: `Running`, or a value the app has never seen. */
  readonly runningStatus: string;
  /**
   * When ACR forgets an operation (docs/assumptions.md A5): `never` (the default), or `afterMs` virtual ms after it
   * was created or after it reached a final status. A forgotten operation answers 404 OPERATION_UNKNOWN on the wire
   * (`_operations/{id}`, its cancel, and `_streaming/{digest}`) and no longer blocks a new start; its conversion
   * still runs to its end, so a referrer may appear after ACR forgot who made it.
   */
  readonly operationExpiry: OperationExpiry;
  /**
   * Whether a push to a repository whose switch is on starts ACR's own conversion: `on-push` (the default), or
   * `never` — a push that reached ACR just before its switch went on, or an ACR slower to pick pushes up than the
   * app waits (docs/assumptions.md A6).
   */
  readonly autoConvert: 'on-push' | 'never';
  /**
   * Where the streaming artifact of a converted multi-arch index is attached: to the index (the default), or to its
   * linux/amd64 child, the only image ACR converts. Which one ACR does is not documented (docs/assumptions.md A8).
   */
  readonly indexReferrer: 'index' | 'linux-amd64-child';
  /**
   * How a running operation's `progress` rises: `linear` over durationMs (the default), or `stall-then-jump` —
   * linear to 20 % over the first fifth of durationMs, then stuck at 20 % until the operation ends (it jumps to 100 %
   * as it succeeds). ACR documents no shape (docs/assumptions.md A15); the second is the worst case for an app that
   * predicts the end from the rate.
   */
  readonly progressProfile: ProgressProfile;
}

export type ProgressProfile = 'linear' | 'stall-then-jump';

/** stall-then-jump: where progress stops, as a fraction of the run and of 100 %. */
const stallFraction = 0.2;

export type OperationExpiry = 'never' | { readonly afterMs: number; readonly from: 'created' | 'finished' };

export const DEFAULT_BEHAVIOUR: ConversionBehaviour = {
  startDelayMs: 2_000,
  durationMs: 30_000,
  outcome: 'Succeeded',
  duplicateStart: 'same-operation',
  failureDetails: 'coded',
  runningStatus: 'Running',
  operationExpiry: 'never',
  autoConvert: 'on-push',
  indexReferrer: 'index',
  progressProfile: 'linear',
};

export const UNKNOWN_ERROR_MESSAGE = 'Conversion operation failed due to an unknown error';

export interface OperationView {
  readonly id: string;
  readonly name: string;
  readonly repository: string;
  readonly digest: string | undefined;
  readonly resource: string;
  /** A known status, or the `runningStatus` a hostile test set (a status ACR might add one day). */
  readonly status: OperationStatus | (string & {});
  readonly startTime: string;
  readonly progress: string;
  readonly details: string;
  /** Digest of the streaming referrer a successful conversion pushed. */
  readonly referrerDigest: string | undefined;
  /** ACR has forgotten it (operationExpiry): the wire answers 404; only the control API still shows it. */
  readonly forgotten: boolean;
}

interface Operation {
  readonly id: string;
  readonly name: string;
  readonly repository: string;
  readonly digest: string | undefined;
  readonly resource: string;
  readonly createdAt: number;
  readonly startAt: number;
  readonly endAt: number;
  /** What the operation reports while it runs: `Running`, or what the behaviour's `runningStatus` says. */
  readonly runningStatus: string;
  readonly progressProfile: ProgressProfile;
  /** Fixed when the operation is created, so a later behaviour change does not revive a forgotten operation. */
  readonly expiry: OperationExpiry;
  /** Set once the operation is terminal (or frozen by cancel). */
  final: { status: OperationStatus; progress: number; details: string } | undefined;
  /** Virtual time the operation became final (`operationExpiry.from: 'finished'` counts from it). */
  finishedAt: number | undefined;
  referrerDigest: string | undefined;
  timer: { cancel(): void } | undefined;
  waiters: ((view: OperationView) => void)[];
}

type Eligibility =
  { readonly eligible: true } | { readonly eligible: false; readonly code: string; readonly message: string };

/** Which images ACR converts: linux/amd64 images, and indexes with a linux/amd64 child. */
export function classify(manifest: ManifestRecord): Eligibility {
  if (manifest.artifactType === STREAMING_ARTIFACT_TYPE) {
    return {
      eligible: false,
      code: 'UNSUPPORTED_ARTIFACT_TYPE',
      message: 'The artifact is a streaming artifact and cannot be converted',
    };
  }
  if (manifest.references !== undefined) {
    const amd64 = manifest.references.some((r) => r.os === 'linux' && r.architecture === 'amd64');
    return amd64
      ? { eligible: true }
      : {
          eligible: false,
          code: 'NO_SUPPORTED_PLATFORM_FOUND',
          message: 'The image index contains no linux/amd64 image',
        };
  }
  if (
    manifest.configMediaType === undefined ||
    !isImageConfigMediaType(manifest.configMediaType) ||
    manifest.artifactType !== undefined
  ) {
    return {
      eligible: false,
      code: 'UNSUPPORTED_MEDIATYPE',
      message: `Media type ${manifest.artifactType ?? manifest.configMediaType ?? manifest.mediaType} is not a container image`,
    };
  }
  if (manifest.os !== 'linux' || manifest.architecture !== 'amd64') {
    return {
      eligible: false,
      code: 'UNSUPPORTED_PLATFORM',
      message: `Platform ${manifest.os ?? 'unknown'}/${manifest.architecture ?? 'unknown'} is not supported; only linux/amd64 images can be converted`,
    };
  }
  return { eligible: true };
}

/** ACR's `startTime` has whole seconds (`2024-02-24T03:15:10Z`). */
function operationTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class StreamingService {
  readonly #operations = new Map<string, Operation>();
  readonly #behaviours = new Map<string, Partial<ConversionBehaviour>>();

  constructor(
    private readonly definition: MutableRegistryDefinition,
    private readonly store: RegistryStore,
    private readonly clock: EmulatorClock,
  ) {
    store.onManifestPushed((pushed) => this.#autoConvert(pushed));
  }

  /**
   * Behaviour for a repository, or one digest in it (takes precedence), or every repository of the registry
   * (`*`); `undefined` values keep the default.
   */
  setBehaviour(repository: string, digest: string | undefined, behaviour: Partial<ConversionBehaviour>): void {
    this.#behaviours.set(digest === undefined ? repository : `${repository}@${digest}`, behaviour);
  }

  #behaviour(repository: string, digest: string): ConversionBehaviour {
    return {
      ...DEFAULT_BEHAVIOUR,
      ...this.#behaviours.get('*'),
      ...this.#behaviours.get(repository),
      ...this.#behaviours.get(`${repository}@${digest}`),
    };
  }

  /**
   * Refusals at request time (a 4xx from the POST, not a failed operation): the feature needs a Premium registry
   * without customer-managed keys (docs/sources.md § Artifact streaming limitations and troubleshooting). ACR's exact
   * answer is not recorded; 403 DENIED with a `detail.reason` is this emulator's assumption (ACR's usual code for a
   * refused operation).
   */
  assertRegistrySupportsStreaming(): void {
    if (this.definition.sku !== 'Premium') {
      throw new RegistryError(403, 'DENIED', 'Artifact streaming is only available in the Premium service tier.', {
        reason: 'SKU_NOT_SUPPORTED',
        sku: this.definition.sku,
      });
    }
    if (this.definition.customerManagedKey) {
      throw new RegistryError(
        403,
        'DENIED',
        'Artifact streaming is not supported on registries encrypted with customer-managed keys.',
        {
          reason: 'CMK_NOT_SUPPORTED',
        },
      );
    }
  }

  /**
   * Starts (or, when one is still ongoing for the digest, returns) a conversion. A forgotten operation is not
   * ongoing here: ACR no longer knows it, so nothing stops a second one.
   */
  start(repository: string, digest: string): OperationView {
    this.assertRegistrySupportsStreaming();
    const manifest = this.store.resolve(repository, digest);
    const behaviour = this.#behaviour(repository, manifest.digest);
    const ongoing = this.#latest(repository, manifest.digest);
    if (ongoing && ongoing.final === undefined) {
      if (behaviour.duplicateStart === 'conflict')
        throw new RegistryError(409, 'CONFLICT', 'A conversion of this artifact is already in progress', {
          id: ongoing.id,
          status: this.view(ongoing).status,
        });
      return this.view(ongoing);
    }

    const eligibility = classify(manifest);
    const now = this.clock.now().getTime();
    const startAt = now + behaviour.startDelayMs;
    // Ineligible images fail as soon as the worker picks them up; they never run.
    const endAt = eligibility.eligible ? startAt + behaviour.durationMs : startAt;
    const op: Operation = {
      id: randomUUID(),
      name: 'ArtifactStreamingConversion',
      repository,
      digest: manifest.digest,
      resource: `${repository}@${manifest.digest}`,
      createdAt: now,
      startAt,
      endAt,
      runningStatus: behaviour.runningStatus,
      progressProfile: behaviour.progressProfile,
      expiry: behaviour.operationExpiry,
      final: undefined,
      finishedAt: undefined,
      referrerDigest: undefined,
      timer: undefined,
      waiters: [],
    };
    this.#operations.set(op.id, op);
    op.timer = this.clock.setTimeout(() => this.#finish(op, eligibility, behaviour), endAt - now);
    return this.view(op);
  }

  /** The repository-level settings update (POST `_streaming`) also yields an operation id in ACR. */
  recordSettingsOperation(repository: string): OperationView {
    const now = this.clock.now().getTime();
    const op: Operation = {
      id: randomUUID(),
      name: 'ArtifactStreamingSettingsUpdate',
      repository,
      digest: undefined,
      runningStatus: 'Running',
      progressProfile: 'linear',
      expiry: 'never',
      resource: repository,
      createdAt: now,
      startAt: now,
      endAt: now,
      final: { status: 'Succeeded', progress: 100, details: `Streaming settings updated for repository ${repository}` },
      finishedAt: now,
      referrerDigest: undefined,
      timer: undefined,
      waiters: [],
    };
    this.#operations.set(op.id, op);
    return this.view(op);
  }

  latest(repository: string, digest: string): OperationView | undefined {
    const op = this.#latest(repository, digest);
    return op && this.view(op);
  }

  /** The operation as the wire sees it: undefined once ACR has forgotten it. */
  get(repository: string, id: string): OperationView | undefined {
    const op = this.#known(repository, id);
    return op && this.view(op);
  }

  byId(id: string): OperationView | undefined {
    const op = this.#operations.get(id);
    return op && this.view(op);
  }

  list(): OperationView[] {
    return [...this.#operations.values()].map((op) => this.view(op));
  }

  cancel(repository: string, id: string): OperationView | undefined {
    const op = this.#known(repository, id);
    if (!op) return undefined;
    const current = this.view(op);
    if (op.final === undefined) {
      op.timer?.cancel();
      // Progress and details freeze where they were (transcript: Canceled at "1%", "Conversion ongoing …").
      op.final = { status: 'Canceled', progress: Number.parseInt(current.progress, 10), details: current.details };
      this.#settle(op);
    }
    return this.view(op);
  }

  /** Resolves when the operation is terminal (immediately if it already is). */
  waitForOperation(id: string): Promise<OperationView> {
    const op = this.#operations.get(id);
    if (!op) return Promise.reject(new Error(`unknown operation ${id}`));
    const view = this.view(op);
    if (op.final !== undefined) return Promise.resolve(view);
    return new Promise((resolve) => op.waiters.push(resolve));
  }

  view(op: Operation): OperationView {
    const now = this.clock.now().getTime();
    let status: OperationStatus | (string & {});
    let progress: number;
    let details: string;
    if (op.final) {
      ({ status, progress, details } = op.final);
    } else if (now < op.startAt) {
      status = 'NotStarted';
      progress = 0;
      details = `Conversion not started for resource ${op.resource}`;
    } else {
      status = op.runningStatus;
      const span = Math.max(1, op.endAt - op.startAt);
      const done = (now - op.startAt) / span;
      const shown = op.progressProfile === 'stall-then-jump' ? Math.min(done, stallFraction) : done;
      progress = Math.min(99, Math.max(1, Math.floor(shown * 100)));
      details = `Conversion ongoing for resource ${op.resource}`;
    }
    return {
      id: op.id,
      name: op.name,
      repository: op.repository,
      digest: op.digest,
      resource: op.resource,
      status,
      startTime: operationTime(status === 'NotStarted' ? op.createdAt : op.startAt),
      progress: `${progress}%`,
      details,
      referrerDigest: op.referrerDigest,
      forgotten: this.#forgotten(op, now),
    };
  }

  /** The digest's newest operation ACR still remembers. */
  #latest(repository: string, digest: string): Operation | undefined {
    let latest: Operation | undefined;
    const now = this.clock.now().getTime();
    for (const op of this.#operations.values()) {
      if (op.repository !== repository || op.digest !== digest || this.#forgotten(op, now)) continue;
      if (!latest || op.createdAt >= latest.createdAt) latest = op;
    }
    return latest;
  }

  #known(repository: string, id: string): Operation | undefined {
    const op = this.#operations.get(id);
    return op && op.repository === repository && !this.#forgotten(op, this.clock.now().getTime()) ? op : undefined;
  }

  /** Computed on read (no timer), so advancing the virtual clock past the expiry is all a test needs. */
  #forgotten(op: Operation, now: number): boolean {
    if (op.expiry === 'never') return false;
    const from = op.expiry.from === 'created' ? op.createdAt : op.finishedAt;
    return from !== undefined && now >= from + op.expiry.afterMs;
  }

  #finish(op: Operation, eligibility: Eligibility, behaviour: ConversionBehaviour): void {
    op.timer = undefined;
    const details = (code: string, message: string): string =>
      behaviour.failureDetails === 'free-text' ? message : `${code}: ${message}`;
    if (!eligibility.eligible) {
      op.final = { status: 'Failed', progress: 0, details: details(eligibility.code, eligibility.message) };
    } else if (behaviour.outcome === 'UnknownError') {
      op.final = {
        status: 'Failed',
        progress: Number.parseInt(this.view(op).progress, 10),
        details: details('UNKNOWN_ERROR', UNKNOWN_ERROR_MESSAGE),
      };
    } else {
      try {
        const subject = this.#referrerSubject(op.repository, op.digest ?? '', behaviour);
        const referrer = buildStreamingReferrer(
          { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
          this.clock.now(),
        );
        pushBuilt(this.store, op.repository, referrer, undefined, 'acr-artifact-streaming/1.0');
        op.referrerDigest = referrer.digest;
        op.final = { status: 'Succeeded', progress: 100, details: `Conversion completed for resource ${op.resource}` };
      } catch (error) {
        // The image was deleted while converting.
        const reason = error instanceof RegistryError ? error.code : 'UNKNOWN_ERROR';
        op.final = { status: 'Failed', progress: 0, details: `${reason}: ${UNKNOWN_ERROR_MESSAGE}` };
      }
    }
    this.#settle(op);
  }

  /** The manifest the streaming artifact is attached to: the converted one, or an index's linux/amd64 child (A8). */
  #referrerSubject(repository: string, digest: string, behaviour: ConversionBehaviour): ManifestRecord {
    const converted = this.store.resolve(repository, digest);
    if (behaviour.indexReferrer === 'index' || converted.references === undefined) return converted;
    const child = converted.references.find((r) => r.os === 'linux' && r.architecture === 'amd64');
    return child === undefined ? converted : this.store.resolve(repository, child.digest);
  }

  #settle(op: Operation): void {
    op.finishedAt = this.clock.now().getTime();
    const view = this.view(op);
    const waiters = op.waiters;
    op.waiters = [];
    for (const resolve of waiters) resolve(view);
  }

  /**
   * `convertPushedImages: true`: ACR converts newly pushed eligible images. Only tag pushes count — an index's
   * children arrive by digest and are covered by converting the index — and referrers (subject set) never do.
   */
  #autoConvert(pushed: PushedManifest): void {
    const repo = this.store.repository(pushed.repository);
    if (!repo?.streaming.convertPushedImages || pushed.tag === undefined || pushed.manifest.subject !== undefined)
      return;
    if (this.definition.sku !== 'Premium' || this.definition.customerManagedKey) return;
    if (!classify(pushed.manifest).eligible) return;
    if (this.#behaviour(pushed.repository, pushed.manifest.digest).autoConvert === 'never') return;
    this.start(pushed.repository, pushed.manifest.digest);
  }
}
