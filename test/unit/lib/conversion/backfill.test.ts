import { describe, expect, it } from 'vitest';
import type { RegistrySettings } from '../../../../lib/core/registries.js';
import {
  BackfillWorker,
  type BackfillRegistry,
  type ConversionRequester,
} from '../../../../lib/conversion/backfill.js';
import {
  scheduleBackfill,
  type BackfillMessage,
  type BackfillQueue,
} from '../../../../lib/policy/backfill-schedule.js';
import type { ImageKey } from '../../../../lib/core/image.js';
import { ConversionService, type EventOutcome, type RequestOptions } from '../../../../lib/conversion/service.js';
import { silentLogger as log } from '../../../../lib/core/logging.js';
import {
  policySchema,
  type AppliedPolicy,
  type Policy,
  type PolicyInput,
  type PolicySource,
} from '../../../../lib/policy/model.js';
import { mostSpecific, parseScope, type PolicyScope } from '../../../../lib/policy/scope.js';
import type { ManifestAttributes } from '../../../../lib/core/acr.js';
import { AcrError } from '../../../../lib/core/errors.js';
import { ManualClock } from '../../../support/fakes/clock.js';
import { InMemoryConversionStore } from '../../../support/fakes/conversion-store.js';
import { InMemoryOutbox } from '../../../support/fakes/outbox.js';
import { digestOf, dockerImage, ScriptedRegistry } from '../../../support/fakes/registry.js';
import { RecordingTrackingQueue } from '../../../support/fakes/tracking-queue.js';

const now = '2026-03-01T12:00:00.000Z';
const day = 86_400_000;
const policy = (input: PolicyInput = {}): Policy => policySchema.parse({ mode: 'onPush', ...input });
const backfilling = (backfill: PolicyInput['backfill'] = {}, rest: PolicyInput = {}): Policy =>
  policy({ ...rest, backfill: { enabled: true, ...backfill } });

/** Manifests per repository, listed newest first in pages as ACR does; `ageDays` sets lastUpdateTime. */
class FakeCatalog implements BackfillRegistry {
  readonly repositories = new Map<string, ManifestAttributes[]>();
  /** Repositories whose listing ACR refuses, with the error it answers. */
  readonly refusing = new Map<string, Error>();
  listings = 0;

  add(
    repository: string,
    count: number,
    options: { ageDays?: (index: number) => number; tags?: (index: number) => string[] } = {},
  ): string[] {
    const manifests = Array.from({ length: count }, (_, index) => ({
      digest: digestOf(`${repository}-${index}`),
      tags: options.tags?.(index) ?? [`v${index}`],
      lastUpdateTime: new Date(Date.parse(now) - (options.ageDays?.(index) ?? index / 100) * day).toISOString(),
    }));
    this.repositories.set(repository, [...(this.repositories.get(repository) ?? []), ...manifests]);
    return manifests.map((manifest) => manifest.digest);
  }

  listRepositories(): Promise<string[]> {
    return Promise.resolve([...this.repositories.keys()].sort());
  }

  async *listManifests(
    repository: string,
    options: { pageSize?: number; orderBy?: 'timedesc' | 'timeasc' } = {},
  ): AsyncGenerator<ManifestAttributes[]> {
    this.listings++;
    const refusal = this.refusing.get(repository);
    if (refusal) throw refusal;
    const all = [...(this.repositories.get(repository) ?? [])].sort(
      (a, b) => Date.parse(b.lastUpdateTime!) - Date.parse(a.lastUpdateTime!),
    );
    const size = options.pageSize ?? 100;
    for (let start = 0; start < all.length; start += size) {
      await Promise.resolve();
      yield all.slice(start, start + size);
    }
  }
}

/** The start path as the worker sees it: eligible digests start once, then are duplicates; the rest are skipped. */
class FakeConversions implements ConversionRequester {
  readonly requests: Array<{ key: ImageKey; options: RequestOptions }> = [];
  private readonly rows = new Set<string>();
  constructor(private readonly eligible: (key: ImageKey, tags: readonly string[]) => boolean = () => true) {}

  request(key: ImageKey, options: RequestOptions): Promise<EventOutcome> {
    this.requests.push({ key, options });
    if (this.rows.has(key.digest)) return Promise.resolve('duplicate');
    this.rows.add(key.digest);
    return Promise.resolve(this.eligible(key, options.tags) ? 'Running' : 'skipped');
  }

  get started(): number {
    return this.rows.size;
  }
}

class FakeBackfillQueue implements BackfillQueue {
  readonly sent: Array<{ message: BackfillMessage; delaySeconds: number }> = [];
  send(message: BackfillMessage, delaySeconds: number): Promise<void> {
    this.sent.push({ message: structuredClone(message), delaySeconds });
    return Promise.resolve();
  }
}

function storedPolicies(stored: Record<string, Policy>): PolicySource & { set(scope: string, value: Policy): void } {
  const entries = new Map(Object.entries(stored));
  return {
    set: (scope, value) => entries.set(scope, value),
    policyFor: (_registry, repository): Promise<AppliedPolicy> => {
      const candidates = [...entries].map(([text, value]) => ({
        scope: (parseScope(text) as { ok: true; scope: PolicyScope }).scope,
        text,
        value,
      }));
      const match = mostSpecific(candidates, repository);
      return Promise.resolve(
        match ? { scope: match.text, policy: match.value } : { scope: '_default', policy: policySchema.parse({}) },
      );
    },
  };
}

function setup(
  stored: Record<string, Policy>,
  options: {
    conversions?: ConversionRequester;
    clock?: ManualClock;
    timeBudgetSeconds?: number;
    pageSize?: number;
  } = {},
) {
  const catalog = new FakeCatalog();
  const conversions = options.conversions ?? new FakeConversions();
  const queue = new FakeBackfillQueue();
  const policies = storedPolicies(stored);
  const clock = options.clock ?? new ManualClock(now);
  const worker = new BackfillWorker({
    registries: ['contoso'],
    registry: () => catalog,
    conversions,
    policies,
    queue,
    clock,
    settings: {
      runIntervalSeconds: 60,
      pageSize: options.pageSize ?? 7,
      ...(options.timeBudgetSeconds === undefined ? {} : { timeBudgetSeconds: options.timeBudgetSeconds }),
    },
  });
  /** Runs the first message, then every continuation, as the queue would deliver them. */
  async function runToEnd(first: BackfillMessage) {
    const summaries = [];
    let next: BackfillMessage | undefined = first;
    while (next !== undefined) {
      const before = queue.sent.length;
      summaries.push(await worker.run(next, log));
      next = queue.sent.length > before ? queue.sent.at(-1)!.message : undefined;
    }
    return summaries;
  }
  return { catalog, conversions, queue, policies, worker, clock, runToEnd };
}

const first = (scope: string): BackfillMessage => ({ registry: 'contoso', scope, runId: 'run-1' });

describe('backfill worker', () => {
  it('scenario 4: one repository ACR refuses for good does not stop the backfill of the others', async () => {
    const conversions = new FakeConversions();
    const { catalog, runToEnd } = setup({ 'team-a/*': backfilling() }, { conversions });
    catalog.add('team-a/app', 3);
    catalog.add('team-a/secret', 2);
    const web = catalog.add('team-a/web', 2);
    catalog.refusing.set(
      'team-a/secret',
      new AcrError('could not list manifests: GET … answered 403 DENIED', {
        status: 403,
        code: 'DENIED',
        correlationId: undefined,
        method: 'GET',
        path: '/acr/v1/team-a/secret/_manifests',
      }),
    );

    const [summary] = await runToEnd(first('team-a/*'));

    expect(summary).toMatchObject({ stoppedBy: 'complete', started: 5, repositoriesUnreadable: ['team-a/secret'] });
    expect(conversions.requests.map((request) => request.key.digest)).toEqual(expect.arrayContaining(web));
  });

  it('scenario 4: a transient failure of a repository is rethrown, so the run is delivered again', async () => {
    const { catalog, worker } = setup({ 'team-a/*': backfilling() });
    catalog.add('team-a/app', 1);
    catalog.refusing.set(
      'team-a/app',
      new AcrError('could not list manifests: GET … answered 503 UNAVAILABLE', {
        status: 503,
        code: 'UNAVAILABLE',
        correlationId: undefined,
        method: 'GET',
        path: '/acr/v1/team-a/app/_manifests',
      }),
    );

    await expect(worker.run(first('team-a/*'), log)).rejects.toMatchObject({ status: 503 });
  });

  it('starts at most maxImagesPerRun per run and resumes where the last run stopped, until every image is examined', async () => {
    const conversions = new FakeConversions((_key, tags) => !tags.some((tag) => tag.endsWith('-dev')));
    const { catalog, queue, runToEnd } = setup({ 'team-a/*': backfilling({ maxImagesPerRun: 10 }) }, { conversions });
    const app = catalog.add('team-a/app', 25, { tags: (index) => [index % 5 === 0 ? `v${index}-dev` : `v${index}`] });
    const web = catalog.add('team-a/web', 8);

    const summaries = await runToEnd(first('team-a/*'));

    expect(summaries.map((summary) => summary?.started)).toEqual([10, 10, 8]);
    expect(summaries.map((summary) => summary?.stoppedBy)).toEqual(['limit', 'limit', 'complete']);
    expect(summaries.map((summary) => summary?.run)).toEqual([1, 2, 3]);
    expect(conversions.requests.map((request) => request.key.digest)).toEqual([...app, ...web]);
    expect(conversions.requests.every((request) => request.options.source === 'backfill')).toBe(true);
    expect(queue.sent.map((entry) => entry.delaySeconds)).toEqual([60, 60]);
    expect(queue.sent[0]!.message).toEqual({
      registry: 'contoso',
      scope: 'team-a/*',
      runId: 'run-1',
      run: 2,
      cursor: { repository: 'team-a/app', last: app[12] },
    }); // indexes 0, 5 and 10 are -dev
    expect(summaries.reduce((sum, summary) => sum + (summary?.skipped ?? 0), 0)).toBe(5);
  });

  it('stops at images older than maxAgeDays', async () => {
    const { catalog, conversions, runToEnd } = setup({ _default: backfilling({ maxAgeDays: 30 }) });
    const digests = catalog.add('team-a/app', 10, { ageDays: (index) => index * 10 + 1 });

    const [summary] = await runToEnd(first('_default'));

    expect(summary).toMatchObject({ examined: 3, started: 3, stoppedBy: 'complete' });
    expect((conversions as FakeConversions).requests.map((request) => request.key.digest)).toEqual(digests.slice(0, 3));
  });

  it('leaves repositories that a more specific policy governs to that policy', async () => {
    const { catalog, conversions, runToEnd } = setup({
      _default: backfilling(),
      'team-b/*': policy(),
      tools: backfilling(),
    });
    catalog.add('team-a/app', 2);
    catalog.add('team-b/api', 2);
    catalog.add('tools', 2);

    const [summary] = await runToEnd(first('_default'));

    expect(summary).toMatchObject({ started: 2, repositoriesLeftAlone: 2 });
    expect(new Set((conversions as FakeConversions).requests.map((request) => request.key.repository))).toEqual(
      new Set(['team-a/app']),
    );
  });

  it('turns a redelivered run into duplicates: no image is started twice', async () => {
    const { catalog, conversions, worker, queue } = setup({ 'team-a/app': backfilling({ maxImagesPerRun: 4 }) });
    catalog.add('team-a/app', 10);

    await worker.run(first('team-a/app'), log);
    const redelivered = await worker.run(first('team-a/app'), log);

    expect(redelivered).toMatchObject({ started: 4, skipped: 4, examined: 8 });
    expect((conversions as FakeConversions).started).toBe(8);
    expect(queue.sent).toHaveLength(2);
  });

  it("restarts a repository from its newest image when the cursor's manifest was deleted", async () => {
    const { catalog, conversions, worker } = setup({ 'team-a/app': backfilling({ maxImagesPerRun: 100 }) });
    const digests = catalog.add('team-a/app', 5);

    const summary = await worker.run(
      { ...first('team-a/app'), run: 2, cursor: { repository: 'team-a/app', last: digestOf('deleted') } },
      log,
    );

    expect(summary).toMatchObject({ examined: 5, started: 5, stoppedBy: 'complete' });
    expect((conversions as FakeConversions).requests.map((request) => request.key.digest)).toEqual(digests);
  });

  it('ends the chain when the policy no longer enables backfill', async () => {
    const { catalog, worker, queue, policies } = setup({ 'team-a/app': backfilling({ maxImagesPerRun: 2 }) });
    catalog.add('team-a/app', 10);
    await worker.run(first('team-a/app'), log);

    policies.set('team-a/app', policy());
    const summary = await worker.run(queue.sent[0]!.message, log);

    expect(summary).toMatchObject({ examined: 0, started: 0, repositoriesLeftAlone: 1, stoppedBy: 'complete' });
    expect(queue.sent).toHaveLength(1);
  });

  it('continues in the next run once the time budget is spent', async () => {
    const clock = new ManualClock(now);
    const slow: ConversionRequester = {
      request: () => {
        clock.advance(40);
        return Promise.resolve('skipped');
      },
    };
    const { catalog, worker, queue } = setup(
      { 'team-a/app': backfilling() },
      { conversions: slow, clock, timeBudgetSeconds: 100 },
    );
    const digests = catalog.add('team-a/app', 5);

    const summary = await worker.run(first('team-a/app'), log);

    expect(summary).toMatchObject({
      examined: 3,
      started: 0,
      stoppedBy: 'time',
      next: { repository: 'team-a/app', last: digests[2] },
    });
    expect(queue.sent).toHaveLength(1);
  });

  it('drops invalid messages and unknown registries without acting', async () => {
    const { catalog, worker, queue } = setup({ _default: backfilling() });

    expect(await worker.run({ registry: 'contoso', scope: '_default' }, log)).toBeUndefined();
    expect(await worker.run({ ...first('_default'), registry: 'elsewhere' }, log)).toBeUndefined();
    expect(await worker.run({ ...first('../etc'), runId: 'x' }, log)).toBeUndefined();
    expect(catalog.listings).toBe(0);
    expect(queue.sent).toEqual([]);
  });

  it('feeds the real start path: only eligible images are converted, each once, the rest recorded Skipped', async () => {
    const registry = new ScriptedRegistry();
    const catalog = new FakeCatalog();
    const tags = (index: number): string[] => [index % 4 === 3 ? `v${index}-dev` : `v${index}`];
    const digests = catalog.add('team-a/app', 24, { tags });
    digests.forEach((digest, index) =>
      registry.addImage(digest, dockerImage({ tags: tags(index), architecture: index % 6 === 5 ? 'arm64' : 'amd64' })),
    );
    const store = new InMemoryConversionStore();
    const clock = new ManualClock(now);
    const applied = backfilling({ maxImagesPerRun: 5 }, { tags: { include: ['*'], exclude: ['*-dev'] } });
    const contoso: RegistrySettings = {
      name: 'contoso',
      loginServer: 'contoso.azurecr.io',
      resourceId: '/subscriptions/0/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contoso',
      auth: { type: 'identity' },
    };
    const service = new ConversionService({
      registries: [contoso],
      gateway: () => registry,
      store,
      outbox: new InMemoryOutbox(),
      queue: new RecordingTrackingQueue(),
      policies: { policyFor: () => Promise.resolve({ scope: 'team-a/app', policy: applied }) },
      readiness: () => Promise.resolve({ ready: true }),
      settings: { firstPollSeconds: 10, maxPollSeconds: 120, leaseSeconds: 300, quietSeconds: 600 },
      clock,
    });
    const queue = new FakeBackfillQueue();
    const worker = new BackfillWorker({
      registries: ['contoso'],
      registry: () => catalog,
      conversions: service,
      policies: storedPolicies({ 'team-a/app': applied }),
      queue,
      clock,
      settings: { runIntervalSeconds: 60, pageSize: 10 },
    });

    const summaries = [await worker.run(first('team-a/app'), log)];
    await worker.run(first('team-a/app'), log); // a redelivered first run
    while (queue.sent.length >= summaries.length)
      summaries.push(await worker.run(queue.sent[summaries.length - 1]!.message, log));

    const eligible = digests.filter((_, index) => index % 4 !== 3 && index % 6 !== 5);
    expect(summaries.every((summary) => (summary?.started ?? 0) <= 5)).toBe(true);
    expect(registry.calls.startStreamingConversion).toBe(eligible.length);
    for (const [index, digest] of digests.entries()) {
      const record = store.get({ registry: 'contoso', repository: 'team-a/app', digest });
      if (eligible.includes(digest)) expect(record).toMatchObject({ status: 'Running', source: 'backfill' });
      else
        expect(record).toMatchObject({
          status: 'Skipped',
          skipReason: index % 4 === 3 ? 'tag-excluded' : 'unsupported-platform',
        });
    }
  });
});

describe('scheduleBackfill', () => {
  const change = (before: Policy | undefined, after: Policy | undefined) => ({
    registry: 'contoso',
    scope: 'team-a/*',
    before,
    after,
    principal: 'alice',
  });

  it('schedules a first run when a change makes backfill active or changes what it would convert', async () => {
    const queue = new FakeBackfillQueue();

    expect(await scheduleBackfill(queue, change(undefined, backfilling()), () => 'run-a', log)).toEqual({
      runId: 'run-a',
      scheduled: true,
    });
    expect(await scheduleBackfill(queue, change(policy(), backfilling()), () => 'run-b', log)).toEqual({
      runId: 'run-b',
      scheduled: true,
    });
    expect(
      await scheduleBackfill(
        queue,
        change(backfilling(), backfilling({}, { tags: { include: ['release-*'] } })),
        () => 'run-c',
        log,
      ),
    ).toEqual({ runId: 'run-c', scheduled: true });

    expect(queue.sent).toEqual([
      { message: { registry: 'contoso', scope: 'team-a/*', runId: 'run-a', run: 1 }, delaySeconds: 0 },
      { message: { registry: 'contoso', scope: 'team-a/*', runId: 'run-b', run: 1 }, delaySeconds: 0 },
      { message: { registry: 'contoso', scope: 'team-a/*', runId: 'run-c', run: 1 }, delaySeconds: 0 },
    ]);
  });

  it('schedules nothing for an unrelated edit, a policy that is off, or backfill disabled', async () => {
    const queue = new FakeBackfillQueue();

    expect(
      await scheduleBackfill(queue, change(backfilling(), backfilling({}, { description: 'edited' })), () => 'x', log),
    ).toEqual({ runId: '', scheduled: false });
    expect(
      await scheduleBackfill(queue, change(undefined, backfilling({}, { mode: 'off' })), () => 'x', log),
    ).toBeUndefined();
    expect(await scheduleBackfill(queue, change(backfilling(), policy()), () => 'x', log)).toBeUndefined();
    expect(await scheduleBackfill(queue, change(backfilling(), undefined), () => 'x', log)).toBeUndefined();
    expect(queue.sent).toEqual([]);
  });
});
