import { isAcrError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import type { PolicySource } from '../policy/model.js';
import {
  backfillActive,
  backfillMessageSchema,
  type BackfillCursor,
  type BackfillQueue,
} from '../policy/backfill-schedule.js';
import { parseScope, sameScope, scopeMatches } from '../policy/scope.js';
import type { RegistryDataPlane, ManifestAttributes } from '../core/acr.js';
import type { Clock } from '../core/clock.js';
import type { EventOutcome, RequestOptions } from './service.js';
import type { ImageKey } from '../core/image.js';

/** The registry calls a backfill makes (lib/registry/client.ts implements them). */
export type BackfillRegistry = Pick<RegistryDataPlane, 'listRepositories' | 'listManifests'>;

/** The conversion start path (ConversionService): decides, skips what has a row, claims with an ETag. */
export interface ConversionRequester {
  request(key: ImageKey, options: RequestOptions, log: Logger): Promise<EventOutcome>;
}

export interface BackfillSettings {
  /** Pause before the next run once a run reached `maxImagesPerRun` (BACKFILL_RUN_INTERVAL_SECONDS). */
  readonly runIntervalSeconds: number;
  /** A run stops and continues in the next one after this long, well inside the function timeout; default 300. */
  readonly timeBudgetSeconds?: number;
  /** Manifests per listing page; default 100. */
  readonly pageSize?: number;
}

export interface BackfillDependencies {
  readonly registries: readonly string[];
  readonly registry: (name: string) => BackfillRegistry;
  readonly conversions: ConversionRequester;
  /** The policy that governs a repository, precedence applied: a repository another scope governs is skipped. */
  readonly policies: PolicySource;
  readonly queue: BackfillQueue;
  readonly clock: Clock;
  readonly settings: BackfillSettings;
}

export type BackfillStop = 'limit' | 'time' | 'complete';

/** What one run did; also logged as `backfill run …`. */
export interface BackfillRunSummary {
  readonly registry: string;
  readonly scope: string;
  readonly runId: string;
  readonly run: number;
  /** Manifests handed to the start path (within `maxAgeDays`). */
  readonly examined: number;
  /** Conversions this run started (outcome Running or Pending). */
  readonly started: number;
  /** Examined but not started: ineligible, already converted or converting, claimed elsewhere, gone. */
  readonly skipped: number;
  /** Repositories the scope matches that a more specific policy governs, or whose backfill is off now. */
  readonly repositoriesLeftAlone: number;
  /** Repositories ACR refused to list or read for good (logged with its answer); the others went on. */
  readonly repositoriesUnreadable: readonly string[];
  readonly stoppedBy: BackfillStop;
  /** Where the next run resumes, when `stoppedBy` is not `complete`. */
  readonly next?: BackfillCursor;
}

const startedOutcomes: ReadonlySet<EventOutcome> = new Set(['Running', 'Pending']);

/**
 * Converts the images that existed before a policy enabled streaming (ACR never converts those on its own), in
 * bounded runs: each run lists the scope's repositories (in catalog order) and each repository's manifests newest
 * first, stops at images older than `backfill.maxAgeDays`, and hands each digest to the same idempotent start path
 * as pushes. Once `backfill.maxImagesPerRun` conversions started (or the time budget is spent) it enqueues the
 * continuation with a delay, so ACR sees a bounded rate.
 *
 * At least once: a crash redelivers the same cursor and the start path turns repeats into `duplicate`. The
 * policy is read afresh on every run, so disabling backfill or deleting the policy ends the chain at its next
 * run. Transient failures are rethrown (the queue redelivers); an invalid message is logged and dropped.
 */
export class BackfillWorker {
  constructor(private readonly deps: BackfillDependencies) {}

  async run(raw: unknown, log: Logger): Promise<BackfillRunSummary | undefined> {
    const parsed = backfillMessageSchema.safeParse(raw);
    if (!parsed.success) {
      log.warn(
        `backfill message rejected: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      );
      return undefined;
    }
    const message = parsed.data;
    const scope = parseScope(message.scope);
    if (!scope.ok || !this.deps.registries.includes(message.registry)) {
      log.warn(
        `backfill message rejected: ${scope.ok ? `registry ${message.registry} is not configured` : `scope ${message.scope}: ${scope.reason}`}`,
        { registry: message.registry, runId: message.runId },
      );
      return undefined;
    }
    const acr = this.deps.registry(message.registry);
    const startedAt = this.deps.clock.now().getTime();
    const budgetMs = (this.deps.settings.timeBudgetSeconds ?? 300) * 1_000;
    const counts = { examined: 0, started: 0, skipped: 0, repositoriesLeftAlone: 0 };
    const unreadable: string[] = [];
    const cursor = message.cursor;
    const repositories = (await acr.listRepositories())
      .filter(
        (repository) =>
          scopeMatches(scope.scope, repository) && (cursor === undefined || repository >= cursor.repository),
      )
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

    let stop: { stoppedBy: BackfillStop; next?: BackfillCursor } = { stoppedBy: 'complete' };
    for (const repository of repositories) {
      const governing = await this.deps.policies.policyFor(message.registry, repository);
      if (!sameScope(governing.scope, message.scope) || !backfillActive(governing.policy)) {
        counts.repositoriesLeftAlone++;
        continue;
      }
      const marker = cursor !== undefined && repository === cursor.repository ? cursor.last : undefined;
      const limit = governing.policy.backfill.maxImagesPerRun;
      const cutoff = startedAt - governing.policy.backfill.maxAgeDays * 86_400_000;
      const outOfBudget = (): boolean => this.deps.clock.now().getTime() - startedAt >= budgetMs;
      let result: Awaited<ReturnType<BackfillWorker['repository']>>;
      try {
        result = await this.repository(acr, repository, marker, cutoff, async (manifest) => {
          const outcome = await this.deps.conversions.request(
            { registry: message.registry, repository, digest: manifest.digest },
            { source: 'backfill', tags: manifest.tags ?? [] },
            log,
          );
          counts.examined++;
          if (startedOutcomes.has(outcome)) counts.started++;
          else counts.skipped++;
          if (counts.started >= limit) return 'limit';
          return outOfBudget() ? 'time' : undefined;
        });
      } catch (error) {
        // ACR refusing this repository for good (403 on an ABAC registry, a malformed answer) must not stop the
        // backfill of the others; a transient failure is rethrown, and the run is delivered again from its cursor.
        if (!isAcrError(error) || error.transient) throw error;
        unreadable.push(repository);
        log.warn(
          `backfill of ${message.registry}/${repository} skipped: ACR answered ${error.status} ${error.code} (${error.message.slice(0, 200)})`,
          { registry: message.registry, repository, runId: message.runId, errorCode: error.code },
        );
        continue;
      }
      if (result !== undefined) {
        stop = { stoppedBy: result.stoppedBy, next: { repository, last: result.last } };
        break;
      }
    }

    if (stop.next !== undefined) {
      await this.deps.queue.send(
        {
          registry: message.registry,
          scope: message.scope,
          runId: message.runId,
          run: message.run + 1,
          cursor: stop.next,
        },
        this.deps.settings.runIntervalSeconds,
      );
    }
    const summary: BackfillRunSummary = {
      registry: message.registry,
      scope: message.scope,
      runId: message.runId,
      run: message.run,
      ...counts,
      repositoriesUnreadable: unreadable,
      ...stop,
    };
    log.info(
      `backfill run ${summary.run} of ${summary.registry}/${summary.scope} (${summary.runId}): examined ${summary.examined}, started ${summary.started}, skipped ${summary.skipped}; ` +
        (stop.next
          ? `stopped (${stop.stoppedBy}); resumes at ${stop.next.repository} in ${this.deps.settings.runIntervalSeconds}s`
          : 'complete'),
      {
        registry: summary.registry,
        scope: summary.scope,
        runId: summary.runId,
        run: summary.run,
        examined: summary.examined,
        started: summary.started,
        skipped: summary.skipped,
        stoppedBy: summary.stoppedBy,
      },
    );
    return summary;
  }

  /**
   * One repository, newest first from just after `marker`. Resolves where it stopped early, or undefined when the
   * repository is done (every manifest examined, or the rest older than the cutoff). A marker that no longer
   * exists (the manifest was deleted) restarts the repository from its newest: repeats are harmless.
   */
  private async repository(
    acr: BackfillRegistry,
    repository: string,
    marker: string | undefined,
    cutoffMs: number,
    examine: (manifest: ManifestAttributes) => Promise<Exclude<BackfillStop, 'complete'> | undefined>,
  ): Promise<{ stoppedBy: Exclude<BackfillStop, 'complete'>; last: string } | undefined> {
    let passed = marker === undefined;
    for await (const page of acr.listManifests(repository, {
      pageSize: this.deps.settings.pageSize ?? 100,
      orderBy: 'timedesc',
    })) {
      for (const manifest of page) {
        if (!passed) {
          passed = manifest.digest === marker;
          continue;
        }
        const time = Date.parse(manifest.lastUpdateTime ?? manifest.createdTime ?? '');
        if (!Number.isNaN(time) && time < cutoffMs) return undefined;
        const stoppedBy = await examine(manifest);
        if (stoppedBy !== undefined) return { stoppedBy, last: manifest.digest };
      }
    }
    return passed ? undefined : this.repository(acr, repository, undefined, cutoffMs, examine);
  }
}
