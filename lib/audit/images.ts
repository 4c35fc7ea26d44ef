import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isAcrError } from '../core/errors.js';
import { forRegistry, type RegistrySettings } from '../core/registries.js';
import { finalRemediation, failureClass } from '../conversion/failures.js';
import { inspectManifest } from '../conversion/inspect.js';
import { streamingArtifactsOf } from '../conversion/streaming-artifacts.js';
import { tableKeyText } from '../core/image.js';
import { type Clock } from '../core/clock.js';
import { listAll, type ConversionStore } from '../conversion/ports.js';
import { type Outbox } from '../core/outbox.js';
import type { ConversionRecord } from '../conversion/record.js';
import type { ConversionService } from '../conversion/service.js';
import type { Logger } from '../core/logging.js';
import { decide, type ImageFacts, type RegistryReadiness } from '../policy/eligibility.js';
import type { AppliedPolicy, Policy, PolicySource } from '../policy/model.js';
import { settingScope } from '../policy/scope.js';
import { isIndexMediaType, type RegistryDataPlane, type ManifestAttributes } from '../core/acr.js';
import type { FindingStatus } from '../reports/model.js';
import { countFinding, zeroCounters, type AuditCounters, type AuditRun, type StoredFinding } from './model.js';
import type { AuditStore } from './ports.js';
import type { SwitchCheck, SwitchDriftRecord, SwitchReconciler } from '../policy/drift.js';
import type { Versioned } from '../core/image.js';

export const auditMessageSchema = z
  .object({
    registry: tableKeyText(1, 64),
    runId: z.string().uuid(),
    startedAt: z.iso.datetime(),
    /** Continuation number, for logs. */
    part: z.number().int().min(1).default(1),
  })
  .strict();
export type AuditMessage = z.infer<typeof auditMessageSchema>;

export interface AuditQueue {
  send(message: AuditMessage, delaySeconds: number): Promise<void>;
}

export type AuditRegistry = Pick<
  RegistryDataPlane,
  'listRepositories' | 'listManifests' | 'listReferrers' | 'getManifest'
>;

export interface ImageAuditSettings {
  readonly reverifySeconds: number;
  /** Referrer checks per message before it checkpoints and continues. */
  readonly requestBudget: number;
  /** Conversions one run may start for missing artifacts (where the policy enables backfill). */
  readonly backfillBudget: number;
  /** A conversion whose next check is this overdue is a stale operation. */
  readonly quietSeconds: number;
  /** Wall time one message may spend before it checkpoints (inside the function timeout). */
  readonly maxMessageMs?: number;
}

export interface ImageAuditDependencies {
  readonly registries: readonly RegistrySettings[];
  readonly registry: (name: string) => AuditRegistry;
  readonly conversions: ConversionStore;
  readonly service: Pick<ConversionService, 'request'>;
  readonly policies: PolicySource;
  readonly readiness: (registry: RegistrySettings, log: Logger) => Promise<RegistryReadiness>;
  readonly store: AuditStore;
  /**
   * ACR's per-repository switch held to the governing policy (issue #15): one GET per repository and run, a write
   * only where it drifted. Without it the audit leaves the switches alone.
   */
  readonly switches?: Pick<SwitchReconciler, 'reconcile' | 'records'>;
  readonly queue: AuditQueue;
  readonly outbox: Outbox;
  readonly settings: ImageAuditSettings;
  readonly clock: Clock;
}

/**
 * The missing-streaming-artifact audit. For every repository with an active policy it lists manifests newest
 * first (until the policy's backfill horizon), applies the policy, and checks each eligible digest's streaming
 * referrer — except digests already verified, which are re-checked on a rolling schedule spread over
 * AUDIT_REVERIFY_SECONDS, so a second run of an unchanged registry costs a small fraction of the first and a
 * deleted referrer is still caught within the period. Runs are queue-driven: a message works until its request
 * budget or time is spent, checkpoints (per repository) and continues in the next message.
 */
export class ImageAudit {
  constructor(private readonly deps: ImageAuditDependencies) {}

  /** Starts a run for a registry (timer or API); returns its id. */
  async start(registry: string, log: Logger, requestedBy?: string): Promise<string> {
    this.registrySettings(registry);
    const run: AuditRun = {
      registry,
      runId: randomUUID(),
      startedAt: this.deps.clock.now().toISOString(),
      complete: false,
      counters: zeroCounters,
      ...(requestedBy === undefined ? {} : { requestedBy }),
    };
    await this.deps.store.createRun(run);
    await this.deps.queue.send({ registry, runId: run.runId, startedAt: run.startedAt, part: 1 }, 0);
    log.info(`audit ${run.runId} of ${registry} started${requestedBy === undefined ? '' : ` by ${requestedBy}`}`, {
      registry,
      runId: run.runId,
      ...(requestedBy === undefined ? {} : { caller: requestedBy }),
    });
    return run.runId;
  }

  async continue(raw: unknown, log: Logger): Promise<AuditRun | undefined> {
    const parsed = auditMessageSchema.safeParse(raw);
    if (!parsed.success) {
      log.warn(
        `audit message rejected: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      );
      return undefined;
    }
    const message = parsed.data;
    const fields = { registry: message.registry, runId: message.runId };
    const registry = this.configuredRegistry(message.registry);
    if (registry === undefined) {
      log.warn(`audit message dropped: registry ${message.registry} is not configured`, fields);
      return undefined;
    }
    const stored = await this.deps.store.getRun(message.registry, message.runId, message.startedAt);
    if (stored === undefined) {
      log.warn(
        `audit message dropped: no run ${message.runId} of ${message.registry} started at ${message.startedAt}`,
        fields,
      );
      return undefined;
    }
    if (stored.run.complete) {
      log.info(`audit message dropped: run ${message.runId} of ${message.registry} is already complete`, fields);
      return stored.run;
    }
    const startedMs = Date.now();
    const readiness = await this.deps.readiness(registry, log);
    const client = this.deps.registry(registry.name);
    let repositories: string[];
    try {
      repositories = (await client.listRepositories()).sort();
    } catch (error) {
      // Refused for good (a role that does not list the catalog): the run ends saying so, rather than going to the
      // poison queue; transient failures are delivered again.
      if (!isAcrError(error) || error.transient) throw error;
      const catalogRefused = `ACR answered ${error.status} ${error.code} to listing the repositories`;
      log.warn(`audit ${message.runId} of ${registry.name}: ${catalogRefused}`, { ...fields, errorCode: error.code });
      return this.complete({ ...stored, run: { ...stored.run, catalogRefused } }, stored.run.counters, log);
    }
    // Runs stored by an older version lack the newer counters.
    let counters: AuditCounters = { ...zeroCounters, ...stored.run.counters };
    let budget = this.deps.settings.requestBudget;
    // A registry that cannot stream (not Premium, customer-managed keys) has no switch to hold.
    const switches = readiness.ready || readiness.unknown !== undefined ? this.deps.switches : undefined;
    const driftRecords = switches ? await switches.records(registry.name) : undefined;
    let backfillBudget = this.deps.settings.backfillBudget - counters.backfilled;
    // Which repositories hold findings, so findings of one gone from the catalog or now off can be deleted; and the
    // start of the last complete run before this one, since when every finding of a repository it read is current.
    const withFindings = await this.deps.store.findingRepositories(registry.name);
    const previousRun = (await this.deps.store.recentRuns(registry.name, 30)).find(
      (run) => run.complete && run.runId !== message.runId && run.startedAt < stored.run.startedAt,
    );
    const from = stored.run.cursor?.repository;
    const unreadable = [...(stored.run.unreadable ?? [])];
    const progress = (): Pick<AuditRun, 'unreadable'> => (unreadable.length > 0 ? { unreadable } : {});
    for (const repository of repositories.filter((name) => from === undefined || name >= from)) {
      const outOfTime = Date.now() - startedMs > (this.deps.settings.maxMessageMs ?? 240_000);
      if (budget <= 0 || outOfTime) {
        return this.checkpoint(
          stored,
          { ...stored.run, ...progress(), counters, cursor: { repository } },
          message,
          log,
        );
      }
      const applied = await this.deps.policies.policyFor(registry.name, repository);
      // No stored policy matches: the DEFAULT_POLICY setting governs it (the report's checklist tells them apart).
      const onDefault = (counters.repositoriesOnDefault ?? 0) + (applied.scope === settingScope ? 1 : 0);
      const switchChecked = repository === from && stored.run.cursor?.switchChecked === true;
      if (switches && driftRecords && !switchChecked) {
        const checked = await this.checkSwitch(switches, registry.name, repository, applied, driftRecords, log);
        counters = {
          ...counters,
          switchChecks: counters.switchChecks + (checked ? 1 : 0),
          switchRepairs: counters.switchRepairs + (checked?.outcome === 'repaired' ? 1 : 0),
          switchDrift: counters.switchDrift + (checked?.drift ? 1 : 0),
        };
      }
      if (applied.policy.mode === 'off') {
        // Its findings would describe a repository the audit no longer reads (the report left them out before).
        if (withFindings.delete(repository)) await this.deps.store.deleteRepositoryFindings(registry.name, repository);
        counters = { ...counters, repositories: counters.repositories + 1, repositoriesOnDefault: onDefault };
        continue;
      }
      // Indexed before its first finding is written, so no finding escapes the vanished-repository check.
      if (!withFindings.has(repository)) {
        await this.deps.store.addFindingRepository(registry.name, repository);
        withFindings.add(repository);
      }
      let result: Awaited<ReturnType<ImageAudit['auditRepository']>>;
      try {
        result = await this.auditRepository(
          registry.name,
          repository,
          applied,
          readiness,
          message.runId,
          { budget, backfillBudget },
          currentSince(previousRun, repository),
          log,
        );
      } catch (error) {
        // ACR refusing one repository for good (403 on an ABAC registry, a malformed answer) must not stop the audit
        // of the others, nor send the message to the poison queue; transient failures are delivered again.
        if (!isAcrError(error) || error.transient) throw error;
        if (!unreadable.includes(repository)) unreadable.push(repository);
        log.warn(
          `audit ${message.runId} of ${registry.name}: repository ${repository} skipped: ACR answered ${error.status} ${error.code}`,
          { ...fields, repository, errorCode: error.code },
        );
        continue;
      }
      budget -= result.counters.referrerChecks;
      backfillBudget -= result.counters.backfilled;
      // A checkpoint restarts this repository and its findings are counted again then (those this run wrote are
      // reused, not examined again): only the requests and conversions spent so far count now.
      counters = add(
        counters,
        result.complete
          ? result.counters
          : { ...zeroCounters, referrerChecks: result.counters.referrerChecks, backfilled: result.counters.backfilled },
      );
      if (!result.complete)
        return this.checkpoint(
          stored,
          {
            ...stored.run,
            ...progress(),
            counters,
            cursor: { repository, ...(switches ? { switchChecked: true } : {}) },
          },
          message,
          log,
        );
      counters = {
        ...counters,
        repositories: counters.repositories + 1,
        repositoriesWithPolicy: counters.repositoriesWithPolicy + 1,
        repositoriesOnDefault: onDefault,
      };
    }
    // Every repository of the catalog was read: the findings of those that left it describe nothing.
    const catalog = new Set(repositories);
    for (const repository of withFindings)
      if (!catalog.has(repository)) await this.deps.store.deleteRepositoryFindings(registry.name, repository);
    return this.complete({ ...stored, run: { ...stored.run, ...progress() } }, counters, log);
  }

  /**
   * Holds the repository's ACR switch to its governing policy: on under `native`, off otherwise. ACR refusing to
   * let it be read for good is logged and the audit goes on; transient failures are delivered again.
   */
  private async checkSwitch(
    switches: Pick<SwitchReconciler, 'reconcile'>,
    registry: string,
    repository: string,
    applied: AppliedPolicy,
    records: ReadonlyMap<string, Versioned<SwitchDriftRecord>>,
    log: Logger,
  ): Promise<SwitchCheck | undefined> {
    try {
      return await switches.reconcile(
        {
          registry,
          repository,
          scope: applied.scope,
          expected: applied.policy.mode === 'native',
          origin: 'audit',
          records,
        },
        log,
      );
    } catch (error) {
      if (!isAcrError(error) || error.transient) throw error;
      log.warn(
        `audit of ${registry}: the ACR switch of ${repository} could not be read: ACR answered ${error.status} ${error.code}`,
        { registry, repository, errorCode: error.code },
      );
      return undefined;
    }
  }

  private async auditRepository(
    registry: string,
    repository: string,
    applied: AppliedPolicy,
    readiness: RegistryReadiness,
    runId: string,
    budgets: { budget: number; backfillBudget: number },
    currentSinceMs: number | undefined,
    log: Logger,
  ): Promise<{ counters: AuditCounters; complete: boolean }> {
    const client = this.deps.registry(registry);
    // The stored findings; each listed digest is taken out, so what is left at the end of a full listing is gone.
    const known = await this.deps.store.findingsOf(registry, repository);
    // Only the rows changed since the repository's findings were last known current (its oldest finding, or the
    // last complete run that read it: unchanged findings keep the time they were last written): what can make a
    // settled finding stale. A first audit has no findings and needs none; a row needed for a verdict is read by its
    // key. Memory follows the rate of change, not the repository's size.
    const changedSince = latest(known.oldestCheck(), currentSinceMs);
    const conversions =
      changedSince === undefined
        ? new Map<string, ConversionRecord>()
        : await this.conversionsOf(registry, repository, changedSince);
    const horizon = this.deps.clock.now().getTime() - applied.policy.backfill.maxAgeDays * 86_400_000;
    // The platform images of the repository's multi-arch indexes, as the listing names them: untagged, but not
    // "pushed without a tag". Listed newest first, an index comes before the children pushed ahead of it, or on
    // the same page when pushed in the same instant (ties are ordered by digest): each page is read for its
    // indexes first.
    const indexChildren = new Set<string>();
    let counters = zeroCounters;
    for await (const page of client.listManifests(repository, { pageSize: 100, orderBy: 'timedesc' })) {
      const findings: StoredFinding[] = [];
      let reachedHorizon = false;
      for (const child of page.flatMap((manifest) => manifest.references ?? [])) indexChildren.add(child.digest);
      for (const manifest of page) {
        const pushed = Date.parse(manifest.lastUpdateTime ?? manifest.createdTime ?? '');
        if (Number.isFinite(pushed) && pushed < horizon) {
          reachedHorizon = true;
          break;
        }
        const previous = known.get(manifest.digest);
        known.delete(manifest.digest);
        if (previous?.runId === runId) {
          // Written by an earlier part of this run: counted again, not examined again.
          counters = countFinding({ ...counters, examined: counters.examined + 1 }, previous.status);
          continue;
        }
        const { finding, checked, backfilled } = await this.examine(
          registry,
          repository,
          manifest,
          previous,
          conversions,
          applied.policy,
          readiness,
          runId,
          budgets.backfillBudget - counters.backfilled,
          indexChildren.has(manifest.digest),
          log,
        );
        // Only what changed is written (issue #19 § 4): a finding that says what the stored one says, but for when it
        // was looked at, stays as it is; a referrer check moves verifiedAt, which schedules the next one.
        if (previous === undefined || !sameFinding(previous, finding)) findings.push(finding);
        counters = countFinding(
          {
            ...counters,
            examined: counters.examined + 1,
            referrerChecks: counters.referrerChecks + (checked ? 1 : 0),
            backfilled: counters.backfilled + (backfilled ? 1 : 0),
          },
          finding.status,
        );
      }
      if (findings.length > 0) await this.deps.store.saveFindings(registry, repository, findings);
      if (reachedHorizon) break;
      // Cut short: the digests not listed yet are not gone, so nothing is deleted.
      if (counters.referrerChecks >= budgets.budget) return { counters, complete: false };
    }
    // The full listing (to the horizon) is read: findings of digests it did not name are of deleted images, or of
    // images now past the horizon. The report left both out before, by their age; now they are gone.
    if (known.size > 0) await this.deps.store.deleteFindings(registry, repository, [...known.keys()]);
    return { counters, complete: true };
  }

  private async examine(
    registry: string,
    repository: string,
    manifest: ManifestAttributes,
    previous: StoredFinding | undefined,
    conversions: ReadonlyMap<string, ConversionRecord>,
    policy: Policy,
    readiness: RegistryReadiness,
    runId: string,
    backfillLeft: number,
    indexChild: boolean,
    log: Logger,
  ): Promise<{ finding: StoredFinding; checked: boolean; backfilled: boolean }> {
    const now = this.deps.clock.now();
    const tags = manifest.tags ?? [];
    const facts = await this.facts(registry, repository, manifest, tags, indexChild, previous);
    const base = {
      registry,
      repository,
      digest: manifest.digest,
      tags,
      kind: facts.kind,
      platforms: facts.platforms.map((p) => `${p.os}/${p.architecture}`).join(','),
      ...(facts.sizeBytes === undefined ? {} : { sizeBytes: facts.sizeBytes }),
      ...(manifest.lastUpdateTime ? { pushedAt: manifest.lastUpdateTime } : {}),
      checkedAt: now.toISOString(),
      runId,
    };
    // The index is what is converted (its artifact may sit on the linux/amd64 child, A8); a tag on the child is
    // someone's choice to use it alone, so only an untagged child is counted with its index.
    if (indexChild && tags.length === 0)
      return {
        finding: { ...base, status: 'ineligible', reason: indexChildReason },
        checked: false,
        backfilled: false,
      };
    const decision = decide(policy, facts, readiness);
    if (!decision.eligible)
      return { finding: { ...base, status: 'ineligible', reason: decision.reason }, checked: false, backfilled: false };
    const record = conversions.get(manifest.digest);
    // Nothing can have changed unless our conversion record did, or someone outside this app added or removed a
    // referrer — which the rolling re-verification catches within the period.
    const recordChanged =
      record !== undefined && previous !== undefined && Date.parse(record.updatedAt) > Date.parse(previous.checkedAt);
    const settled =
      previous !== undefined &&
      (previous.status === 'converted' || previous.status === 'missing' || previous.status === 'failed');
    if (
      settled &&
      previous.verifiedAt &&
      !recordChanged &&
      !this.dueForReverification(manifest.digest, previous.verifiedAt)
    ) {
      const { runId: _run, checkedAt: _checked, ...carried } = previous;
      return { finding: { ...carried, ...base }, checked: false, backfilled: false };
    }
    // An index counts as converted whether ACR attached the artifact to it or to its linux/amd64 child (A8).
    const referrers = await streamingArtifactsOf(this.deps.registry(registry), repository, manifest.digest, {
      ...(manifest.mediaType === undefined ? {} : { mediaType: manifest.mediaType }),
      ...(manifest.references === undefined
        ? {}
        : {
            children: manifest.references
              .filter((child) => child.os === 'linux' && child.architecture === 'amd64')
              .map((child) => child.digest),
          }),
    });
    const verifiedAt = now.toISOString();
    if (referrers.length > 0)
      return {
        finding: { ...base, status: 'converted', reason: 'streaming artifact present', verifiedAt },
        checked: true,
        backfilled: false,
      };
    const current =
      record ?? (await this.deps.conversions.read({ registry, repository, digest: manifest.digest }))?.value;
    const found = fromConversion(registry, current, previous, now.getTime(), this.deps.settings.quietSeconds);
    if (found.status === 'missing' && policy.backfill.enabled && backfillLeft > 0) {
      const outcome = await this.deps.service.request(
        { registry, repository, digest: manifest.digest },
        { source: 'backfill', tags, referrerMissing: true },
        log,
      );
      if (outcome === 'Running' || outcome === 'Pending' || outcome === 'Succeeded') {
        return {
          finding: { ...base, status: 'in-progress', reason: 'missing; conversion started by the audit', verifiedAt },
          checked: true,
          backfilled: true,
        };
      }
    }
    return { finding: { ...base, ...found, verifiedAt }, checked: true, backfilled: false };
  }

  /** A repository's conversion records updated since an instant, keyed by digest. */
  private async conversionsOf(
    registry: string,
    repository: string,
    since: Date,
  ): Promise<Map<string, ConversionRecord>> {
    const records = new Map<string, ConversionRecord>();
    for await (const record of listAll(this.deps.conversions, registry, { repository, since }))
      records.set(record.digest, record);
    return records;
  }

  /** Rolling re-verification: each digest is due somewhere between half and all of the period after its last check. */
  private dueForReverification(digest: string, verifiedAt: string): boolean {
    const spread = createHash('sha256').update(digest).digest().readUInt32BE(0) / 0xffffffff;
    return (
      this.deps.clock.now().getTime() - Date.parse(verifiedAt) >
      this.deps.settings.reverifySeconds * 1000 * (0.5 + 0.5 * spread)
    );
  }

  private async facts(
    registry: string,
    repository: string,
    manifest: ManifestAttributes,
    tags: readonly string[],
    indexChild: boolean,
    previous: StoredFinding | undefined,
  ): Promise<ImageFacts> {
    const isIndex =
      (manifest.references?.length ?? 0) > 0 ||
      (manifest.mediaType !== undefined && isIndexMediaType(manifest.mediaType));
    const platforms = isIndex
      ? (manifest.references ?? []).flatMap((child) =>
          child.os && child.architecture ? [{ os: child.os, architecture: child.architecture }] : [],
        )
      : manifest.os && manifest.architecture
        ? [{ os: manifest.os, architecture: manifest.architecture }]
        : [];
    // The listing does not say what a manifest is. One without a platform is a Helm chart or another artifact; an
    // untagged one (index children are told apart before this) is mostly a referrer — the app's own streaming
    // artifacts carry linux/amd64 like their image. Only the manifest says which: one GET, so the report calls each
    // what it is rather than "pushed without a tag" or "unknown platform" (issue #18 § 5).
    const untaggedAlone = tags.length === 0 && !indexChild;
    if (!isIndex && (platforms.length === 0 || untaggedAlone)) {
      // A digest's manifest never changes: what the last audit's GET found still holds, so an incremental run does
      // not read it again (issue #19 § 4). Only the kind and the size it gave are needed; tags and platform come
      // from the listing.
      if (previous?.kind !== undefined && previous.kind !== 'index')
        return previous.kind === 'image'
          ? { repository, tags, kind: 'image', platforms, sizeBytes: previous.sizeBytes ?? manifest.imageSize }
          : { repository, tags, kind: previous.kind, platforms: [], sizeBytes: undefined };
      const fetched = await this.deps.registry(registry).getManifest(repository, manifest.digest);
      if (fetched) return inspectManifest(repository, fetched, manifest, tags);
    }
    return { repository, tags, kind: isIndex ? 'index' : 'image', platforms, sizeBytes: manifest.imageSize };
  }

  private async checkpoint(
    stored: { run: AuditRun; etag: string },
    run: AuditRun,
    message: AuditMessage,
    log: Logger,
  ): Promise<AuditRun> {
    if ((await this.deps.store.saveRun(run, stored.etag)) === undefined) return run;
    await this.deps.queue.send({ ...message, part: message.part + 1 }, 0);
    log.info(
      `audit ${run.runId} of ${run.registry}: part ${message.part} checkpointed at ${run.cursor?.repository ?? ''}`,
      { registry: run.registry, runId: run.runId, ...run.counters },
    );
    return run;
  }

  private async complete(
    stored: { run: AuditRun; etag: string },
    counters: AuditCounters,
    log: Logger,
  ): Promise<AuditRun> {
    const { cursor: _cursor, ...rest } = stored.run;
    const run: AuditRun = { ...rest, counters, complete: true, completedAt: this.deps.clock.now().toISOString() };
    if (counters.missing > 0) {
      await this.deps.outbox.append({
        id: `audit.missingStreamingArtifacts:${run.runId}`,
        type: 'audit.missingStreamingArtifacts',
        time: run.completedAt!,
        registry: run.registry,
        message: `${counters.missing} image(s) in ${run.registry} should be streamable but have no streaming artifact; coverage ${coverage(counters)} %`,
        // Only routes that exist (issue #18 § 6): the findings have no route of their own; the report lists them.
        remediation:
          `Enable backfill in the policies of the repositories the compliance report lists as missing ` +
          `(POST /api/reports, then GET /api/reports/latest?format=html&registry=${run.registry}), ` +
          `or start conversions with POST /api/registries/${run.registry}/conversions.`,
        facts: {
          Missing: String(counters.missing),
          Eligible: String(counters.eligible),
          Streamable: String(counters.streamable),
          'Audit run': run.runId,
        },
      });
    }
    await this.deps.store.saveRun(run, stored.etag);
    log.info(
      `audit ${run.runId} of ${run.registry} complete: ${counters.examined} examined, ${counters.eligible} eligible, ${counters.streamable} streamable, ${counters.missing} missing, ${counters.failed} failed, ${counters.referrerChecks} referrer checks`,
      { registry: run.registry, runId: run.runId, ...counters },
    );
    return run;
  }

  private configuredRegistry(name: string): RegistrySettings | undefined {
    return this.deps.registries.find((candidate) => candidate.name === name);
  }

  private registrySettings(name: string): RegistrySettings {
    const registry = this.configuredRegistry(name);
    if (registry === undefined) throw new Error(`registry ${name} is not configured`);
    return registry;
  }
}

const indexChildReason =
  'a platform image of a multi-arch index: the index is converted, and its streaming artifact may sit on this child';

function add(a: AuditCounters, b: AuditCounters): AuditCounters {
  return Object.fromEntries(
    Object.keys(a).map((key) => [key, (a[key as keyof AuditCounters] ?? 0) + (b[key as keyof AuditCounters] ?? 0)]),
  ) as unknown as AuditCounters;
}

export function coverage(counters: Pick<AuditCounters, 'eligible' | 'streamable'>): number {
  return counters.eligible === 0 ? 100 : Math.round((counters.streamable / counters.eligible) * 1000) / 10;
}

/** Why an eligible digest has no streaming referrer, from its conversion record. */
function fromConversion(
  registry: string,
  record: ConversionRecord | undefined,
  previous: StoredFinding | undefined,
  nowMs: number,
  quietSeconds: number,
): { status: FindingStatus; reason: string; errorCode?: string; remediation?: string } {
  if (record?.status === 'Pending' || record?.status === 'Running') {
    const overdue = record.nextCheckAt !== undefined && Date.parse(record.nextCheckAt) + quietSeconds * 1000 < nowMs;
    const pastDeadline = record.deadlineAt !== undefined && Date.parse(record.deadlineAt) < nowMs;
    return overdue || pastDeadline
      ? {
          status: 'stale-operation',
          reason: `conversion ${record.operationId ?? ''} is ${record.status} but its tracking went quiet${pastDeadline ? ' past its deadline' : ''}; the sweeper re-drives it`,
        }
      : {
          status: 'in-progress',
          reason: `conversion ${record.status.toLowerCase()}${record.progress ? ` (${record.progress})` : ''}`,
        };
  }
  if (record?.status === 'Failed' || record?.status === 'TimedOut' || record?.status === 'Canceled') {
    const code = record.lastErrorCode ?? record.status.toUpperCase();
    return {
      status: 'failed',
      reason: record.lastErrorMessage ?? record.status,
      errorCode: code,
      // Rows written before issue #18 § 6 still carry the `{registry}` placeholder.
      remediation: forRegistry(
        record.remediation ?? finalRemediation(failureClass(code), { registry, attempts: record.attempts }),
        registry,
      ),
    };
  }
  const wasConverted = previous?.status === 'converted' || record?.status === 'Succeeded';
  return {
    status: 'missing',
    reason: wasConverted
      ? 'the streaming artifact was there before and has been deleted (copy or cleanup tools drop referrers)'
      : 'no streaming artifact and no conversion recorded (pushed before the policy, or the event was missed)',
    remediation: `Enable backfill in the policy, or start it with POST /api/registries/${registry}/conversions.`,
  };
}

/**
 * Since when a repository's findings are all current, by the last complete run before this one (ms): that run read
 * the repository to the end (or deleted its findings), unless ACR refused it or the catalog.
 */
function currentSince(previous: AuditRun | undefined, repository: string): number | undefined {
  if (previous === undefined || previous.catalogRefused !== undefined || previous.unreadable?.includes(repository))
    return undefined;
  return Date.parse(previous.startedAt);
}

function latest(checked: Date | undefined, sinceMs: number | undefined): Date | undefined {
  if (checked === undefined) return undefined;
  return sinceMs === undefined || sinceMs <= checked.getTime() ? checked : new Date(sinceMs);
}

/** Whether two findings say the same, but for when they were made and by which run. */
function sameFinding(stored: StoredFinding, fresh: StoredFinding): boolean {
  return canonical(stored) === canonical(fresh);
}

function canonical(finding: StoredFinding): string {
  const { checkedAt: _checked, runId: _run, ...said } = finding;
  return JSON.stringify(said, Object.keys(said).sort());
}
