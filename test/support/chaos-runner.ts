import { TableClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { startAzurite, type RunningAzurite } from '../../dev/azurite.js';
import type { FaultRuleInput } from '../../dev/emulator/faults.js';
import type { OperationExpiry } from '../../dev/emulator/registry/streaming-service.js';
import { SANDBOX_TEAMS_CHANNEL, SANDBOX_WEBHOOK_CHANNEL } from '../../dev/emulator/inbox/index.js';
import { streamingArtifactType } from '../../lib/core/acr.js';
import { SandboxHarness, type HostProcess } from './sandbox-harness.js';
import {
  proxiedConnectionString,
  seededRandom,
  startFaultProxy,
  type FaultProxy,
  type FaultProxyStats,
  type FaultRates,
} from './table-fault-proxy.js';

/**
 * The chaos runner shared by `test/chaos/` (reduced size, in `npm test`) and `bench/chaos.ts` (full size): N image
 * pushes across R repositories (most through the emulator's control API, which raises real ImagePushed events
 * through Event Grid; a few with skopeo), some repositories told to fail every conversion, while the local host is
 * SIGKILLed and restarted on the same port K times and a persistent Azurite is restarted; or, instead of crashes,
 * upstream faults on ACR (emulator fault rules) and on Table Storage (the fault proxy). The emulator always refuses a
 * duplicate start with 409 and words failures as free text; {@link ChaosPlan.hostile} adds the other modes where ACR
 * disagrees. Then it waits, bounded, for convergence and checks the promise — see {@link ChaosReport.violations}.
 */

/** The emulator's hostile modes (issue #14; dev/emulator/README.md § Hostile modes) a run switches on. */
export interface HostileModes {
  /** A fresh push answers manifest reads with 404 for this long (ms): the app's replication-lag retry path. */
  readonly readLagMs: number;
  /** When ACR forgets an operation; the app then takes a failed attempt (OPERATION_UNKNOWN) and starts over. */
  readonly operationExpiry: OperationExpiry;
  /** Every `unknownStatusEvery`-th repository's running operations report a status the app has never seen. */
  readonly unknownStatusEvery: number;
  /** How long those operations run (ms): long enough that a poll finds one running, not only its end. */
  readonly unknownStatusDurationMs: number;
}

/**
 * What the chaos tier runs with. Read lag of a few seconds outlasts Event Grid's first retries (0.1 s, 0.3 s, 0.6 s at
 * the harness's time scale), so an event is redelivered several times before the push is readable. Operations are
 * forgotten 1 s after they end while the app polls every 1–2 s, so some polls find the end and some a 404.
 * Forgetting an operation that still runs is not among them: the app would then start a second operation for the
 * image (docs/assumptions.md A5), which the promise "one operation per Succeeded digest" does not allow for; the
 * e2e "operations expire: … while it runs" covers that case.
 */
export const hostileModes: HostileModes = {
  readLagMs: 3_000,
  operationExpiry: { afterMs: 1_000, from: 'finished' },
  unknownStatusEvery: 4,
  // Long enough that a poll lands while it runs on a loaded machine too: at 3 s a fault-free run once saw no poll
  // of the unknown status (the first poll is due 1 s after the start, but the host's queue polling lags under load).
  unknownStatusDurationMs: 6_000,
};

const unknownStatus = 'Optimizing';

export interface ChaosPlan {
  readonly name: string;
  readonly pushes: number;
  readonly repositories: number;
  /** The first `failingRepositories` repositories answer every conversion with UnknownError. */
  readonly failingRepositories: number;
  /** Of the pushes, how many go through skopeo (slow) instead of the control API. */
  readonly skopeoPushes: number;
  readonly kills: number;
  readonly azuriteRestarts: number;
  /** Upstream faults on ACR routes and on Table Storage calls. */
  readonly faults: boolean;
  /** Seeds the crash schedule, the storage fault schedule and the push order. */
  readonly seed: number;
  /** Pause between two pushes (ms), so that crashes land while events are arriving. */
  readonly pushSpacingMs: number;
  readonly convergenceTimeoutMs: number;
  /** Event Grid deliveries in flight per subscription (default 1, reproducible; real Event Grid is concurrent). */
  readonly eventGridConcurrency?: number;
  /** Hostile emulator modes on top of the 409 and free-text failures (default: none). */
  readonly hostile?: HostileModes;
  readonly log?: (line: string) => void;
}

export interface ChaosReport {
  readonly name: string;
  readonly pushes: number;
  readonly kills: number;
  readonly azuriteRestarts: number;
  readonly succeeded: number;
  readonly failed: number;
  /** From the first push until every digest is final and every alert delivered. */
  readonly convergenceSeconds: number;
  /** From the first push until every digest is final (alerts may still be on their way). */
  readonly conversionsSeconds: number;
  /** Conversion operations ACR created, per Succeeded digest: min and max (see {@link conversionOperations}). */
  readonly operationsPerSucceeded: { readonly min: number; readonly max: number };
  readonly operationsPerFailed: { readonly min: number; readonly max: number };
  /** How often the hostile modes bit, from the emulator's request log (shows they were on). */
  readonly hostileAnswers: {
    /** `POST _streaming/{digest}` refused with 409 (a conversion of the digest already running). */
    readonly startConflicts: number;
    /** `GET _operations/{id}` answered 404: the app polled an operation ACR had forgotten. */
    readonly forgottenOperationPolls: number;
    /** Manifest reads answered 404 (read lag; the app asks only about pushed digests). */
    readonly laggingManifestReads: number;
    /** Operation polls answered with the unknown running status. */
    readonly unknownStatusPolls: number;
  };
  /** Distinct alerts per failed digest per channel (webhook: distinct webhook-ids; Teams: cards). */
  readonly alertsPerFailed: Readonly<Record<string, { readonly min: number; readonly max: number }>>;
  /** Webhook deliveries the inbox saw again under an id it already had (allowed: receivers dedupe on webhook-id). */
  readonly webhookRedeliveries: number;
  /** ACR data-plane requests the app made (HTTPS listener; skopeo's plain-HTTP pushes excluded). */
  readonly acrRequests: number;
  readonly acrFaultsInjected: number;
  readonly storageFaults: Readonly<FaultProxyStats> | undefined;
  readonly poisonMessages: readonly string[];
  readonly eventGridDeadLetters: number;
  /** Every broken promise, spelled out; empty when the run kept all of them. */
  readonly violations: readonly string[];
}

interface Pushed {
  readonly repository: string;
  readonly digest: string;
  readonly expect: 'Succeeded' | 'Failed';
}

const maxAttempts = 2;
const registry = 'sandbox';

/**
 * A port for a service the run restarts on the same port (Azurite, the host): below the kernel's ephemeral range, so
 * neither an outgoing connection nor another test's `listen(0)` can take it while the service is down. A port from
 * `listen(0)` once failed an Azurite restart with EADDRINUSE: a client socket had been given it meanwhile.
 */
async function freePort(): Promise<number> {
  let ephemeralLow = 32_768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // Not Linux: keep the IANA dynamic range's usual start.
  }
  // Above the sandbox's fixed ports (Azurite 10000–10002, the host 7071) and below the ephemeral range.
  const low = 20_000;
  for (;;) {
    const port = low + Math.floor(Math.random() * Math.max(1, ephemeralLow - low));
    if (await canListen(port)) return port;
  }
}

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * ACR faults on the routes the app uses (never skopeo's pushes: those are PUT/PATCH/HEAD, POST to `/blobs/uploads`
 * and GET `/v2/` or `/oauth2/token`): about 10 % 5xx, 5 % 429 with Retry-After 1, 3 % latency spikes, 2 % drops.
 * Rules are tried in order, so each probability is relative to what the earlier rules let through.
 */
function acrFaultRules(): FaultRuleInput[] {
  const routes = [{ path: '^/acr/v1/' }, { path: '^/v2/.+/(manifests|referrers)/', method: 'GET' }];
  const actions: Array<{ action: FaultRuleInput['action']; probability: number }> = [
    { action: { kind: 'status', status: 503 }, probability: 0.05 },
    { action: { kind: 'status', status: 500 }, probability: 0.053 },
    { action: { kind: 'status', status: 429, retryAfterSeconds: 1 }, probability: 0.056 },
    { action: { kind: 'latency', milliseconds: 1_500 }, probability: 0.035 },
    { action: { kind: 'drop' }, probability: 0.024 },
  ];
  return actions.flatMap(({ action, probability }) =>
    routes.map((route) => ({ listener: registry, ...route, action, probability })),
  );
}

const storageFaultRates: FaultRates = { error: 0.04, lostResponse: 0.03, latency: 0.03, drop: 0.02 };

export async function runChaos(plan: ChaosPlan): Promise<ChaosReport> {
  const log = plan.log ?? ((): void => undefined);
  const random = seededRandom(plan.seed);
  const dataDir = await mkdtemp(join(tmpdir(), 'chaos-azurite-'));
  let azurite: RunningAzurite = await startAzurite({
    location: dataDir,
    ports: { blob: await freePort(), queue: await freePort(), table: await freePort() },
  });
  const proxy: FaultProxy = await startFaultProxy({
    target: { host: '127.0.0.1', port: azurite.ports.table },
    seed: plan.seed,
    rates: plan.faults ? storageFaultRates : {},
    budget: plan.faults ? Math.max(50, plan.pushes * 8) : 0,
    enabled: false,
  });
  const direct = azurite.connectionString;
  const hostPort = await freePort();
  let sandbox: SandboxHarness | undefined;
  try {
    sandbox = await SandboxHarness.start({
      ...(plan.eventGridConcurrency ? { eventGridConcurrency: plan.eventGridConcurrency } : {}),
      storageConnectionString: proxiedConnectionString(direct, { table: proxy.url }),
      // The emulator disagrees where ACR's behaviour is not recorded: a second start of a running conversion is
      // refused with 409 (issue #14), which the app must resolve by adopting the operation; failures come as ACR's
      // sentence without this emulator's code prefix.
      conversion: {
        duplicateStart: 'conflict',
        failureDetails: 'free-text',
        ...(plan.hostile ? { operationExpiry: plan.hostile.operationExpiry } : {}),
      },
      settings: {
        DEFAULT_POLICY: JSON.stringify({
          mode: 'onPush',
          retry: { maxAttempts, initialDelaySeconds: 1, maxDelaySeconds: 2 },
        }),
        ALERT_RELAY_SCHEDULE: '*/5 * * * * *',
        // One alert per failed digest is the promise under test; burst summaries are another feature.
        ALERT_BURST_THRESHOLD: '1000',
        // Restarts land on the same port, so Event Grid's retries reach the new host.
        LOCAL_HOST_PORT: String(hostPort),
      },
    });
    const h = sandbox;
    // The sandbox channels at 30/min would make the alert tail of the full run minutes long.
    const channels = JSON.parse(h.settings.ALERT_CHANNELS ?? '[]') as Array<Record<string, unknown>>;
    h.settings.ALERT_CHANNELS = JSON.stringify(channels.map((channel) => ({ ...channel, ratePerMinute: 6_000 })));
    const repositories = Array.from(
      { length: plan.repositories },
      (_, index) => `chaos/r${String(index).padStart(2, '0')}`,
    );
    const failing = new Set(repositories.slice(0, plan.failingRepositories));
    const hostile = plan.hostile;
    for (const [index, repository] of repositories.entries()) {
      const unknown = hostile !== undefined && index % hostile.unknownStatusEvery === 1;
      // One behaviour per repository (a later one replaces it), so a failing repository's carries both.
      if (failing.has(repository) || unknown)
        await h.emulator.control.setStreamingBehaviour(registry, repository, {
          ...(failing.has(repository) ? { outcome: 'UnknownError' as const } : {}),
          ...(unknown ? { runningStatus: unknownStatus, durationMs: hostile.unknownStatusDurationMs } : {}),
        });
    }

    let host: HostProcess = await h.startHost();
    await h.emulator.control.clearRequests();
    if (hostile) await h.emulator.control.setReadLag(registry, hostile.readLagMs);
    proxy.enabled = plan.faults;
    if (plan.faults) for (const rule of acrFaultRules()) await h.emulator.control.addFault(rule);

    const started = Date.now();
    const pushed: Pushed[] = [];
    const pushing = (async () => {
      const limit = pLimit(4);
      const skopeoEvery =
        plan.skopeoPushes > 0 ? Math.max(1, Math.floor(plan.pushes / plan.skopeoPushes)) : Number.POSITIVE_INFINITY;
      const jobs: Array<Promise<void>> = [];
      for (let index = 0; index < plan.pushes; index++) {
        const repository = repositories[index % repositories.length]!;
        const tag = `v${index}`;
        const label = `${plan.name}-${plan.seed}-${index}`;
        const viaSkopeo = index % skopeoEvery === 0 && index / skopeoEvery < plan.skopeoPushes;
        const kind = index % 10 === 3 ? 'index' : 'image';
        jobs.push(
          limit(async () => {
            const digest = viaSkopeo
              ? await h.push(repository, tag, kind === 'index' ? 'index' : 'linux/amd64', label)
              : (
                  await h.emulator.control.seedImage(
                    registry,
                    kind === 'index'
                      ? { kind: 'index', repository, tag, label }
                      : { kind: 'image', repository, tag, label, platform: 'linux/amd64' },
                  )
                ).digest;
            pushed.push({ repository, digest, expect: failing.has(repository) ? 'Failed' : 'Succeeded' });
          }),
        );
        await sleep(plan.pushSpacingMs);
      }
      await Promise.all(jobs);
    })();

    // Crash schedule: the kills and Azurite restarts in a seeded order, at seeded moments spread over the push
    // phase and a little beyond, one at a time (a host restart never overlaps an Azurite restart).
    const actions: Array<'kill' | 'azurite'> = [
      ...Array<'kill'>(plan.kills).fill('kill'),
      ...Array<'azurite'>(plan.azuriteRestarts).fill('azurite'),
    ];
    for (let index = actions.length - 1; index > 0; index--) {
      const other = Math.floor(random() * (index + 1));
      [actions[index], actions[other]] = [actions[other]!, actions[index]!];
    }
    const window = plan.pushes * plan.pushSpacingMs + 5_000;
    const gap = window / Math.max(1, actions.length);
    let killed = 0;
    let restarted = 0;
    for (const action of actions) {
      await sleep(Math.round(gap * (0.3 + random() * 0.7)));
      if (action === 'kill') {
        await host.kill();
        killed++;
        const downMs = Math.round(random() * 1_500);
        log(
          `[${plan.name}] t=${((Date.now() - started) / 1000).toFixed(1)}s SIGKILL host #${killed}; down ${downMs} ms`,
        );
        await sleep(downMs);
        host = await h.startHost({ subscribe: false });
      } else {
        const downMs = Math.round(random() * 1_500);
        log(
          `[${plan.name}] t=${((Date.now() - started) / 1000).toFixed(1)}s restarting Azurite (persistent); down ${downMs} ms`,
        );
        const ports = azurite.ports;
        await azurite.stop();
        await sleep(downMs);
        azurite = await startAzurite({ location: dataDir, ports });
        restarted++;
      }
    }
    await pushing;
    log(
      `[${plan.name}] ${pushed.length} pushes done at t=${((Date.now() - started) / 1000).toFixed(1)}s; waiting for convergence`,
    );

    // Convergence: read storage directly (not through the proxy) and the inbox, bounded.
    const names = {
      conversions: `${h.settings.STORAGE_PREFIX!}Conversions`,
      outbox: `${h.settings.STORAGE_PREFIX!}Outbox`,
      alerts: `${h.settings.STORAGE_PREFIX!}Alerts`,
    };
    const table = (name: string): TableClient =>
      TableClient.fromConnectionString(direct, name, { allowInsecureConnection: true });
    const rowKey = (item: Pushed): string => `${item.repository.replaceAll('/', ':')}@${item.digest}`;
    const failedDigests = (): Pushed[] => pushed.filter((item) => item.expect === 'Failed');
    const inbox = () => h.emulator.inbox.store.deliveries({});
    const statuses = new Map<string, { status: string; attempts: number }>();
    let converged = false;
    let lastProblem = '';
    let lastProgress = Date.now();
    let conversionsFinalAt: number | undefined;
    const deadline = Date.now() + plan.convergenceTimeoutMs;
    while (Date.now() < deadline) {
      statuses.clear();
      for await (const entity of table(names.conversions).listEntities<{ status: string; attempts: number }>({
        queryOptions: { filter: `PartitionKey eq '${registry}'` },
      }))
        statuses.set(entity.rowKey!, { status: entity.status, attempts: entity.attempts });
      const unsettled = pushed.filter((item) => statuses.get(rowKey(item))?.status !== item.expect);
      let pendingOutbox = 0;
      for await (const _ of table(names.outbox).listEntities({ queryOptions: { filter: `delivery eq 'pending'` } }))
        pendingOutbox++;
      let pendingDeliveries = 0;
      for await (const _ of table(names.alerts).listEntities({
        queryOptions: { filter: `status eq 'pending' or status eq 'sending'` },
      }))
        pendingDeliveries++;
      const received = inbox();
      const unalerted = failedDigests().filter((item) =>
        [SANDBOX_WEBHOOK_CHANNEL, SANDBOX_TEAMS_CHANNEL].some(
          (channel) =>
            !received.some((delivery) => delivery.channel === channel && mentions(delivery.body, item.digest)),
        ),
      );
      lastProblem = `${unsettled.length} digests not final (${unsettled
        .slice(0, 5)
        .map((item) => `${item.repository}@${item.digest.slice(7, 19)}=${statuses.get(rowKey(item))?.status ?? 'none'}`)
        .join(
          ', ',
        )}), ${pendingOutbox} outbox rows pending, ${pendingDeliveries} deliveries pending, ${unalerted.length} failed digests not alerted on both channels`;
      if (unsettled.length === 0) conversionsFinalAt ??= Date.now();
      if (Date.now() - lastProgress > 10_000) {
        lastProgress = Date.now();
        log(`[${plan.name}] t=${((Date.now() - started) / 1000).toFixed(1)}s: ${lastProblem}`);
      }
      if (unsettled.length === 0 && pendingOutbox === 0 && pendingDeliveries === 0 && unalerted.length === 0) {
        converged = true;
        break;
      }
      await sleep(500);
    }
    const convergenceSeconds = (Date.now() - started) / 1000;
    const conversionsSeconds = ((conversionsFinalAt ?? Date.now()) - started) / 1000;
    // Let a late duplicate show itself: a relay round and a queue visibility timeout.
    await sleep(converged ? 6_000 : 0);

    const violations: string[] = [];
    if (!converged) violations.push(`no convergence within ${plan.convergenceTimeoutMs / 1000}s: ${lastProblem}`);
    if (pushed.length !== plan.pushes) violations.push(`only ${pushed.length} of ${plan.pushes} pushes completed`);
    const acr = h.emulator.emulator.state.registries.get(registry)!;
    const operations = await conversionOperations(h);
    const operationCount = (item: Pushed): number => operations.get(`${item.repository}@${item.digest}`) ?? 0;
    const received = inbox();
    const alertCounts: Record<string, number[]> = { [SANDBOX_WEBHOOK_CHANNEL]: [], [SANDBOX_TEAMS_CHANNEL]: [] };
    for (const item of pushed) {
      const status = statuses.get(rowKey(item))?.status;
      const label = `${item.repository}@${item.digest}`;
      if (status !== item.expect) violations.push(`${label}: ${status ?? 'no row'}, expected ${item.expect}`);
      const count = operationCount(item);
      const expectedOperations = item.expect === 'Succeeded' ? 1 : maxAttempts;
      if (count !== expectedOperations)
        violations.push(`${label}: ${count} conversion operations on ACR, expected ${expectedOperations}`);
      if (
        item.expect === 'Succeeded' &&
        !acr.store
          .referrers(item.repository, item.digest)
          .some((referrer) => referrer.artifactType === streamingArtifactType)
      )
        violations.push(`${label}: Succeeded but no streaming referrer in ACR`);
      const about = received.filter((delivery) => mentions(delivery.body, item.digest));
      if (item.expect === 'Succeeded' && about.length > 0)
        violations.push(`${label}: succeeded but alerted ${about.length} time(s)`);
      if (item.expect === 'Failed') {
        const webhookIds = new Set(
          about
            .filter((delivery) => delivery.channel === SANDBOX_WEBHOOK_CHANNEL && delivery.outcome !== 'rejected')
            .map((delivery) => delivery.webhookId),
        );
        const cards = about.filter(
          (delivery) => delivery.channel === SANDBOX_TEAMS_CHANNEL && delivery.outcome === 'delivered',
        ).length;
        alertCounts[SANDBOX_WEBHOOK_CHANNEL]!.push(webhookIds.size);
        alertCounts[SANDBOX_TEAMS_CHANNEL]!.push(cards);
        if (webhookIds.size !== 1)
          violations.push(
            `${label}: ${webhookIds.size} distinct conversion.failed webhooks (by webhook-id), expected 1`,
          );
        if (cards !== 1) violations.push(`${label}: ${cards} Teams cards, expected 1`);
        const wrongType = about.filter(
          (delivery) =>
            delivery.channel === SANDBOX_WEBHOOK_CHANNEL &&
            (delivery.body as { type?: string } | undefined)?.type !== 'conversion.failed',
        );
        if (wrongType.length > 0) violations.push(`${label}: webhook alerts of another type than conversion.failed`);
      }
    }
    const rejected = received.filter((delivery) => delivery.outcome === 'rejected');
    if (rejected.length > 0)
      violations.push(
        `${rejected.length} alert deliveries rejected by the inbox: ${rejected
          .map((delivery) => delivery.reason ?? '')
          .join('; ')
          .slice(0, 500)}`,
      );
    const poisonMessages = await poison(direct, h.settings.STORAGE_PREFIX!);
    for (const message of poisonMessages) violations.push(`poison message: ${message}`);
    const deadLetters = h.emulator.eventGrid.deadLetters().length;
    if (deadLetters > 0) violations.push(`${deadLetters} Event Grid events dead-lettered (lost pushes)`);

    const acrRequests = (await h.emulator.control.requests({ listener: 'registry' })).filter(
      (entry) => entry.listener.kind === 'registry' && entry.listener.tls,
    );
    const faultHits = plan.faults
      ? (await h.emulator.control.listFaults()).reduce((sum, rule) => sum + rule.hits, 0)
      : 0;
    const range = (values: number[]): { min: number; max: number } => ({
      min: values.length ? Math.min(...values) : 0,
      max: values.length ? Math.max(...values) : 0,
    });
    const succeededItems = pushed.filter((item) => item.expect === 'Succeeded');
    const webhookRedeliveries = received.filter((delivery) => delivery.outcome === 'duplicate').length;
    if (violations.length > 0) log(`[${plan.name}] ${violationLog(h, violations)}`);
    const answers = await h.emulator.control.requests({ listener: 'registry' });
    const answered = (method: string, path: RegExp, status: number): number =>
      answers.filter(
        (entry) => entry.method === method && path.test(entry.path) && entry.status === status && !entry.fault,
      ).length;
    return {
      name: plan.name,
      pushes: pushed.length,
      kills: killed,
      azuriteRestarts: restarted,
      succeeded: succeededItems.length,
      failed: failedDigests().length,
      convergenceSeconds,
      conversionsSeconds,
      operationsPerSucceeded: range(succeededItems.map(operationCount)),
      operationsPerFailed: range(failedDigests().map(operationCount)),
      hostileAnswers: {
        startConflicts: answered('POST', /^\/acr\/v1\/.+\/_streaming\/sha256:/, 409),
        forgottenOperationPolls: answered('GET', /^\/acr\/v1\/.+\/_operations\/[^/:]+$/, 404),
        laggingManifestReads:
          answered('GET', /^\/v2\/.+\/manifests\//, 404) + answered('GET', /^\/acr\/v1\/.+\/_manifests\//, 404),
        unknownStatusPolls: h.hosts
          .map((one) => one.output().split(`unknown operation status "${unknownStatus}"`).length - 1)
          .reduce((sum, count) => sum + count, 0),
      },
      alertsPerFailed: Object.fromEntries(
        Object.entries(alertCounts).map(([channel, values]) => [channel, range(values)]),
      ),
      webhookRedeliveries,
      acrRequests: acrRequests.length,
      acrFaultsInjected: faultHits,
      storageFaults: plan.faults ? { ...proxy.stats } : undefined,
      poisonMessages,
      eventGridDeadLetters: deadLetters,
      violations,
    };
  } finally {
    await sandbox?.close().catch(() => undefined);
    await proxy.close();
    await azurite.stop();
    await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Conversion operations ACR created, per `repository@digest`, from the emulator's own list (forgotten ones
 * included). The promise is one operation on ACR per conversion attempt, so this counts operations, not POSTs: a
 * duplicate POST refused with 409 (`duplicateStart: 'conflict'`) created nothing and is adopted, not a new attempt;
 * with that mode every 202 is a new operation, so the count equals the 202 answers, and it stays right if a start
 * ever returned an existing operation.
 */
async function conversionOperations(h: SandboxHarness): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const op of await h.emulator.control.listOperations(registry))
    if (op.name === 'ArtifactStreamingConversion' && op.digest !== undefined)
      counts.set(`${op.repository}@${op.digest}`, (counts.get(`${op.repository}@${op.digest}`) ?? 0) + 1);
  return counts;
}

/**
 * For a run that broke a promise: every host's log lines (killed hosts included) about the digests named in the
 * violations, so the story of each is readable without the whole log; then the last host's tail.
 */
function violationLog(h: SandboxHarness, violations: readonly string[]): string {
  const shorts = [
    ...new Set(violations.flatMap((line) => [...line.matchAll(/sha256:([0-9a-f]{12})/g)].map((m) => m[1]!))),
  ];
  const lines = h.hosts.flatMap((one, index) =>
    one
      .output()
      .split('\n')
      .filter((line) => shorts.some((short) => line.includes(short)))
      .map((line) => `host#${index + 1} ${line}`),
  );
  const story = lines.length > 200 ? [...lines.slice(0, 100), '…', ...lines.slice(-100)] : lines;
  const tail = h.hosts.at(-1)?.output().slice(-2_000) ?? '';
  return `log lines about ${shorts.join(', ')}:\n${story.join('\n')}\nlast host's tail:\n${tail}`;
}

/** Whether an alert body (webhook JSON or Teams card) is about this digest; cards show its first 12 hex digits. */
function mentions(body: unknown, digest: string): boolean {
  const text = JSON.stringify(body ?? '');
  return text.includes(digest) || text.includes(`${digest.slice(0, 19)}…`);
}

/** Every message left in a `-poison` queue of this run, decoded, for the report. */
async function poison(connectionString: string, prefix: string): Promise<string[]> {
  const service = QueueServiceClient.fromConnectionString(connectionString);
  const found: string[] = [];
  for await (const queue of service.listQueues({ prefix })) {
    if (!queue.name.endsWith('-poison')) continue;
    const peeked = await service.getQueueClient(queue.name).peekMessages({ numberOfMessages: 32 });
    for (const message of peeked.peekedMessageItems)
      found.push(`${queue.name}: ${Buffer.from(message.messageText, 'base64').toString('utf8')}`);
  }
  return found;
}
