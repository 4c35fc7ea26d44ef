import type { Clock } from '../core/clock.js';
import type { RegistryDataPlane, RepositoryStreaming } from '../core/acr.js';
import { isAcrError } from '../core/errors.js';
import { repositoryKey, type Versioned } from '../core/image.js';
import type { Logger } from '../core/logging.js';
import type { Outbox, PolicyDriftEvent } from '../core/outbox.js';

/*
 * ACR's per-repository switch (`convertPushedImages`) held to what the governing policy says: on under `native`,
 * off otherwise (so ACR and this app never both convert a push). Whoever looks at a switch — the policy effect when
 * a policy changes, the audit on its schedule — goes through one reconciler, so a drift is recorded and alerted
 * once, whoever finds it first.
 */

/** Who looked at the switch: the audit (a mismatch is drift) or a policy change (a mismatch is the change itself). */
export type SwitchCheckOrigin = 'audit' | 'policy-change';

/**
 * One drift episode of a repository's switch, the latest kept per repository. `open`: ACR still disagrees with the
 * policy (it refused the repair, or reads back another value); `closed`: ACR agrees again (repaired by the app, or
 * put back by someone else). Only repositories that ever drifted have one.
 */
export interface SwitchDriftRecord {
  readonly registry: string;
  readonly repository: string;
  /** The policy scope that governed the repository when the episode was found. */
  readonly scope: string;
  /** What the policy wants `convertPushedImages` to be, and what ACR reported last. */
  readonly expected: boolean;
  readonly actual: boolean;
  readonly state: 'open' | 'closed';
  /** Counts this repository's episodes: alert ids derive from it, so two finders of one episode raise one alert. */
  readonly episode: number;
  readonly foundAt: string;
  readonly foundBy: SwitchCheckOrigin;
  readonly closedAt?: string;
  /** What was found and done, in words (ACR's refusal text, at most 1,000 characters). */
  readonly message: string;
}

/** Drift records (lib/storage/audit-store.ts implements it); saves are ETag-conditional (create when no ETag). */
export interface SwitchDriftStore {
  driftRecords(registry: string): Promise<Map<string, Versioned<SwitchDriftRecord>>>;
  driftRecord(registry: string, repository: string): Promise<Versioned<SwitchDriftRecord> | undefined>;
  /** False when another instance wrote the record first. */
  saveDriftRecord(record: SwitchDriftRecord, etag: string | undefined): Promise<boolean>;
}

export type SwitchRegistry = Pick<RegistryDataPlane, 'getRepositoryStreaming' | 'setRepositoryStreaming'>;

export interface SwitchReconcilerDependencies {
  readonly registry: (name: string) => SwitchRegistry;
  readonly store: SwitchDriftStore;
  readonly outbox: Outbox;
  readonly clock: Clock;
}

export interface SwitchTarget {
  readonly registry: string;
  readonly repository: string;
  /** The governing policy's scope, and whether it wants the switch on (`mode: native`). */
  readonly scope: string;
  readonly expected: boolean;
  readonly origin: SwitchCheckOrigin;
  /** The registry's drift records when the caller loaded them all (the audit); otherwise the one is read. */
  readonly records?: ReadonlyMap<string, Versioned<SwitchDriftRecord>>;
}

export interface SwitchCheck {
  readonly repository: string;
  /** ACR's switch as read back. */
  readonly convertPushedImages: boolean;
  /** ACR still disagrees with the policy (it refused, or reads back another value). */
  readonly drift: boolean;
  /**
   * What the check did: `in-line` nothing to do; `set` switched as a policy change asked; `repaired` found drifted
   * and set back; `refused` ACR would not take the value.
   */
  readonly outcome: 'in-line' | 'set' | 'repaired' | 'refused';
  /** A drift episode was opened or closed by this check (and its alert appended). */
  readonly transition?: 'found' | 'closed';
}

const onOff = (value: boolean): string => (value ? 'on' : 'off');

/** Conflicting writers of one record: re-read and decide again this many times, then leave it to the next check. */
const maxRounds = 3;

export class SwitchReconciler {
  constructor(private readonly deps: SwitchReconcilerDependencies) {}

  /** A registry's drift records, for a caller about to check many repositories (one read instead of one each). */
  records(registry: string): Promise<Map<string, Versioned<SwitchDriftRecord>>> {
    return this.deps.store.driftRecords(registry);
  }

  /**
   * Reads the repository's switch, sets it to what the policy wants where it differs, reads it back, and records
   * the drift episode this opens or closes (one `policy.drift` alert per transition). Undefined when the repository
   * does not exist (ACR has no switch for it). Transient ACR failures are rethrown; a refusal (403 on a registry
   * that is not Premium, …) is drift.
   */
  async reconcile(target: SwitchTarget, log: Logger): Promise<SwitchCheck | undefined> {
    const fields = { registry: target.registry, repository: target.repository, scope: target.scope };
    const acr = this.deps.registry(target.registry);
    const before = await readSwitch(acr, target.repository);
    if (before === undefined) {
      log.info(`${target.registry}/${target.repository}: no such repository; no switch to check`, fields);
      await this.closeGone(target);
      return undefined;
    }
    let after = before;
    let refusal: string | undefined;
    if (before.convertPushedImages !== target.expected) {
      try {
        await acr.setRepositoryStreaming(target.repository, target.expected);
      } catch (error) {
        if (!isAcrError(error) || error.transient) throw error;
        refusal = error.message.slice(0, 1_000);
        log.warn(
          `${target.registry}/${target.repository}: ACR refused convertPushedImages=${target.expected}: ${error.message}`,
          { ...fields, errorCode: error.code },
        );
      }
      after = (await readSwitch(acr, target.repository)) ?? after;
    }
    const observation: Observation = {
      before: before.convertPushedImages,
      after: after.convertPushedImages,
      ...(refusal === undefined ? {} : { refusal }),
    };
    const transition = await this.record(target, observation, log);
    const drift = observation.after !== target.expected;
    const outcome: SwitchCheck['outcome'] =
      observation.before === target.expected
        ? 'in-line'
        : drift
          ? 'refused'
          : target.origin === 'audit'
            ? 'repaired'
            : 'set';
    if (outcome === 'repaired' || outcome === 'refused')
      log.warn(`${target.registry}/${target.repository}: ACR's switch drifted (${outcome})`, { ...fields, outcome });
    return {
      repository: target.repository,
      convertPushedImages: observation.after,
      drift,
      outcome,
      ...(transition === undefined ? {} : { transition }),
    };
  }

  /** The repository's drift record: from the registry's records when the caller loaded them, else read. */
  private async previousRecord(target: SwitchTarget): Promise<Versioned<SwitchDriftRecord> | undefined> {
    return target.records
      ? target.records.get(target.repository)
      : await this.deps.store.driftRecord(target.registry, target.repository);
  }

  /** An open episode of a repository that no longer exists is closed (once; a lost race leaves it to the winner). */
  private async closeGone(target: SwitchTarget): Promise<void> {
    const previous = await this.previousRecord(target);
    if (previous?.value.state !== 'open') return;
    const record: SwitchDriftRecord = {
      ...previous.value,
      state: 'closed',
      closedAt: this.deps.clock.now().toISOString(),
      message: 'the repository no longer exists in ACR',
    };
    await this.deps.outbox.append(driftEvent(record, 'closed'));
    await this.deps.store.saveDriftRecord(record, previous.etag);
  }

  /** Appends the transition's alert, then writes the record on its ETag; on a conflict re-reads and decides again. */
  private async record(
    target: SwitchTarget,
    observation: Observation,
    log: Logger,
  ): Promise<'found' | 'closed' | undefined> {
    let previous = await this.previousRecord(target);
    for (let round = 1; round <= maxRounds; round++) {
      const next = nextDriftRecord(previous?.value, target, observation, this.deps.clock.now().toISOString());
      if (next === undefined) return undefined;
      // The alert's id derives from the episode, so a writer that loses the race below appended the winner's alert.
      await this.deps.outbox.append(driftEvent(next.record, next.transition));
      if (await this.deps.store.saveDriftRecord(next.record, previous?.etag)) return next.transition;
      const reread = await this.deps.store.driftRecord(target.registry, target.repository);
      // Another finder recorded a transition of this repository meanwhile: it saw what we saw, its record stands.
      if (reread !== undefined && reread.value.episode > (previous?.value.episode ?? 0)) return undefined;
      previous = reread;
    }
    log.warn(`${target.registry}/${target.repository}: drift record kept changing; the next check records it`, {
      registry: target.registry,
      repository: target.repository,
    });
    return undefined;
  }
}

interface Observation {
  /** ACR's switch when first read, and after the app set it (the same when nothing was set). */
  readonly before: boolean;
  readonly after: boolean;
  readonly refusal?: string;
}

/**
 * The drift transition one check makes, if any. ACR agreeing again closes an open episode; the audit finding a
 * mismatch it could repair opens and closes one at once; ACR disagreeing after the app set the value opens one,
 * unless an open episode already says so.
 */
export function nextDriftRecord(
  previous: SwitchDriftRecord | undefined,
  target: Pick<SwitchTarget, 'registry' | 'repository' | 'scope' | 'expected' | 'origin'>,
  observation: Observation,
  now: string,
): { record: SwitchDriftRecord; transition: 'found' | 'closed' } | undefined {
  const agrees = observation.after === target.expected;
  const open = previous?.state === 'open';
  const base = {
    registry: target.registry,
    repository: target.repository,
    expected: target.expected,
    actual: observation.after,
  };
  if (agrees && open)
    return {
      transition: 'closed',
      record: {
        ...previous,
        ...base,
        state: 'closed',
        closedAt: now,
        message:
          observation.before === target.expected
            ? `ACR's switch is ${onOff(target.expected)} again, as the policy wants (set outside this app)`
            : `set back to ${onOff(target.expected)}, as the policy wants`,
      },
    };
  const episode = (previous?.episode ?? 0) + 1;
  if (agrees) {
    if (target.origin !== 'audit' || observation.before === target.expected) return undefined;
    return {
      transition: 'found',
      record: {
        ...base,
        scope: target.scope,
        state: 'closed',
        episode,
        foundAt: now,
        foundBy: 'audit',
        closedAt: now,
        message: `ACR's switch was ${onOff(observation.before)} where policy ${target.scope} wants it ${onOff(target.expected)}; set back to ${onOff(target.expected)}`,
      },
    };
  }
  if (open && previous.expected === target.expected) return undefined;
  return {
    transition: 'found',
    record: {
      ...base,
      scope: target.scope,
      state: 'open',
      episode,
      foundAt: now,
      foundBy: target.origin,
      message:
        observation.refusal ??
        `ACR reports convertPushedImages=${observation.after} after it was set to ${target.expected}`,
    },
  };
}

/**
 * What a person does about an open episode. Setting the switch needs AcrPush, or Container Registry Repository Writer
 * on ABAC-mode registries ("setting repository policies for automatic artifact streaming conversion", docs/sources.md
 * § ACR roles and repository permissions). Whether turning it *off* needs more is read from the same page (A12): if a
 * registry refuses it to those roles, Repository Contributor is the role that certainly may.
 */
function driftRemediation(record: SwitchDriftRecord): string {
  const byHand =
    `Set it by hand: az acr artifact-streaming update -n ${record.registry} --repository ${record.repository} ` +
    `--enable-streaming ${record.expected}`;
  if (record.expected)
    return (
      `ACR would not keep artifact streaming on for this repository. It needs a Premium registry without ` +
      `customer-managed keys, and the app's identity needs AcrPush on it (Container Registry Repository Writer on ` +
      `ABAC-mode registries). ${byHand}`
    );
  return (
    `ACR would not turn artifact streaming off for this repository, so ACR keeps converting its pushes. If it ` +
    `answered 403 DENIED to an identity holding AcrPush or Container Registry Repository Writer, this registry ` +
    `reserves turning it off to Contributor-level roles (docs/assumptions.md A12): on ABAC-mode registries grant ` +
    `Container Registry Repository Contributor (deploy with abacAllowDisableStreaming: true). ${byHand}`
  );
}

function driftEvent(record: SwitchDriftRecord, transition: 'found' | 'closed'): PolicyDriftEvent {
  const open = record.state === 'open';
  return {
    // The outbox row key is the id, and Table keys may not hold `/`, `\\`, `#` or `?` (Microsoft Learn,
    // "Understanding the Table service data model", § Characters disallowed in key fields; Azurite refuses them too).
    id: `policy.drift:${repositoryKey(record.repository)}:e${record.episode}:${transition}`,
    type: 'policy.drift',
    // A refused repair needs a person; a repaired one is for the record.
    severity: open ? 'error' : 'warning',
    time: (transition === 'closed' ? record.closedAt : record.foundAt) ?? record.foundAt,
    registry: record.registry,
    repository: record.repository,
    scope: record.scope,
    expected: record.expected,
    actual: record.actual,
    // Distinct per transition, so the alert dedup window never swallows the closing of an episode it just opened.
    generation: `drift-${record.episode}-${transition}`,
    message: `${record.registry}/${record.repository}: ${record.message}`.slice(0, 1_000),
    ...(open
      ? {
          remediation: driftRemediation(record),
        }
      : {}),
    facts: {
      'Policy scope': record.scope,
      'Policy wants': onOff(record.expected),
      'ACR reports': onOff(record.actual),
      'Found by': record.foundBy === 'audit' ? 'audit' : 'policy change',
      State: open ? 'not repaired' : 'repaired',
    },
  };
}

async function readSwitch(acr: SwitchRegistry, repository: string): Promise<RepositoryStreaming | undefined> {
  try {
    return await acr.getRepositoryStreaming(repository);
  } catch (error) {
    if (isAcrError(error) && error.status === 404) return undefined;
    throw error;
  }
}
