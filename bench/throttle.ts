/**
 * Throttling shared across instances (issue #19 § 5): 4 local hosts against one registry the emulator limits to a
 * request rate (token bucket, 429 + Retry-After beyond it), N pushes delivered round-robin to the hosts' Event Grid
 * webhooks. Measured per mode: ACR's 429 answers, and the time until every push's conversion was requested
 * (`POST _streaming/{digest}` answered 202; a start ACR throttled is retried from the tracking queue).
 *
 *   npx tsx bench/throttle.ts [pushes, default 1000] [requests per second, default 100] [rounds, default 1]
 *
 * `BENCH_PROGRESS=1` prints progress (and every webhook answer other than 2xx) to stderr.
 *
 * The two modes are this code with `ACR_SHARED_THROTTLE=true` (every instance waits out a 429 one of them met) and
 * `false` (only the request that met the 429 waits: the transport is today's, without the throttle policy). They run
 * as a pair per round, alternating which goes first, against one Azurite; each mode has its own emulator and prefix.
 */
import os from 'node:os';
import pLimit from 'p-limit';
import { startAzurite } from '../dev/azurite.js';
import { pushPathSettings } from './push-path-settings.js';
import { SandboxHarness, type HostProcess } from '../test/support/sandbox-harness.js';

const pushes = Number(process.argv[2] ?? 1_000);
const requestsPerSecond = Number(process.argv[3] ?? 100);
const rounds = Number(process.argv[4] ?? 1);
const hostCount = 4;
/** Webhook deliveries in flight across all hosts (Event Grid delivers to each instance in parallel). */
const deliveryConcurrency = 32;
/** Event Grid's first redelivery of an event the webhook did not accept (its retry schedule starts at 10 s). */
const redeliveryMs = 10_000;

interface ModeResult {
  readonly mode: 'shared' | 'per-instance';
  readonly seconds: number;
  readonly throttled: number;
  readonly acrRequests: number;
  readonly requested: number;
  readonly redeliveries: number;
}

async function runMode(connectionString: string, shared: boolean): Promise<ModeResult> {
  const sandbox = await SandboxHarness.start({
    storageConnectionString: connectionString,
    // Conversions stay NotStarted: the run measures starting them, not ACR's conversion time.
    conversion: { startDelayMs: 3_600_000 },
    settings: { ...pushPathSettings, ACR_SHARED_THROTTLE: String(shared) },
  });
  try {
    const control = sandbox.emulator.control;
    const hosts: HostProcess[] = [];
    for (let index = 0; index < hostCount; index++) hosts.push(await sandbox.startHost({ subscribe: false }));
    const before = (await control.requests({ listener: 'registry' })).at(-1)?.sequence ?? 0;
    if (process.env.BENCH_PROGRESS) console.error(`${shared ? 'shared' : 'per-instance'}: hosts up, delivering`);
    await control.setRateLimit('sandbox', { requestsPerSecond });
    const deliveries = pLimit(deliveryConcurrency);
    let redeliveries = 0;
    const started = performance.now();
    // Each image is pushed just before its event is delivered, as in the registry: the app's first-push shortcut
    // (issue #19 § 2) depends on the event's age against the manifest's createdTime.
    const deliver = async (index: number): Promise<void> => {
      const { digest } = await control.seedImage('sandbox', {
        kind: 'image',
        repository: `bench/throttle/repo${index % 20}`,
        tag: `t${index}`,
        platform: 'linux/amd64',
      });
      for (let attempt = 0; ; attempt++) {
        const host = hosts[(index + attempt) % hostCount]!;
        const status = await sandbox.deliver(host, [sandbox.publishedPush(digest)]);
        if (status >= 200 && status < 300) return;
        if (process.env.BENCH_PROGRESS) console.error(`delivery of push ${index} answered ${status}`);
        redeliveries++;
        await new Promise((resolve) => setTimeout(resolve, redeliveryMs));
      }
    };
    await Promise.all(Array.from({ length: pushes }, (_, index) => deliveries(() => deliver(index))));
    // Starts ACR throttled go on from the tracking queue: wait until every digest's POST was answered 202.
    const requested = new Set<string>();
    let since = before;
    const counts = { throttled: 0, acrRequests: 0 };
    for (;;) {
      const entries = await control.requests({ listener: 'registry', since });
      for (const entry of entries) {
        since = Math.max(since, entry.sequence);
        counts.acrRequests++;
        if (entry.status === 429) counts.throttled++;
        const match = /^\/acr\/v1\/.+\/_streaming\/(sha256:[a-f0-9]{64})$/.exec(entry.path);
        if (entry.method === 'POST' && entry.status === 202 && match) requested.add(match[1]!);
      }
      if (requested.size >= pushes || performance.now() - started > 15 * 60_000) break;
      if (process.env.BENCH_PROGRESS)
        console.error(
          `${shared ? 'shared' : 'per-instance'}: ${requested.size}/${pushes} requested, ${counts.throttled} × 429`,
        );
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const seconds = (performance.now() - started) / 1000;
    await control.setRateLimit('sandbox', undefined);
    return {
      mode: shared ? 'shared' : 'per-instance',
      seconds,
      throttled: counts.throttled,
      acrRequests: counts.acrRequests,
      requested: requested.size,
      redeliveries,
    };
  } finally {
    await sandbox.close();
  }
}

async function main(): Promise<void> {
  const azurite = await startAzurite();
  const results: ModeResult[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      // Alternating which mode goes first, so neither always runs on a warmer machine.
      const order = round % 2 === 0 ? [true, false] : [false, true];
      for (const shared of order) results.push(await runMode(azurite.connectionString, shared));
    }
  } finally {
    await azurite.stop();
  }
  console.log(
    `\nshared throttling: ${hostCount} hosts, ${pushes} pushes, registry limited to ${requestsPerSecond} requests/s; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`,
  );
  console.log('| round | backoff | 429s | ACR requests | drain s | conversions requested | webhook redeliveries |');
  console.log('|---:|---|---:|---:|---:|---:|---:|');
  results.forEach((r, index) =>
    console.log(
      `| ${Math.floor(index / 2) + 1} | ${r.mode} | ${r.throttled} | ${r.acrRequests} | ${r.seconds.toFixed(1)} | ${r.requested} | ${r.redeliveries} |`,
    ),
  );
  const sum = (mode: ModeResult['mode'], pick: (r: ModeResult) => number): number =>
    results.filter((r) => r.mode === mode).reduce((total, r) => total + pick(r), 0);
  const ratio = (pick: (r: ModeResult) => number): string =>
    (sum('shared', pick) / sum('per-instance', pick)).toFixed(2);
  console.log(
    `\nshared / per-instance: 429s × ${ratio((r) => r.throttled)}, ACR requests × ${ratio((r) => r.acrRequests)}, drain time × ${ratio((r) => r.seconds)}`,
  );
}

await main();
