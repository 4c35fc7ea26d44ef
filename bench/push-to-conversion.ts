/**
 * Push → conversion requested, today's code against this checkout's, as a pair in one process (issue #19 § 6): one
 * emulator and one Azurite, two local hosts — one running today's code (bench/baseline.ts, `BENCH_BASELINE`, default
 * the commit before issue #19) and one running this checkout — fed interleaved batches of the same shape, so machine
 * load falls on both alike and the ratio is what to read. ImagePushed events are delivered straight to a host's Event
 * Grid webhook at a fixed concurrency, so the figures are the app's, not Event Grid's.
 *
 *   npx tsx bench/push-to-conversion.ts [events per level and host, default 1000] [levels, default 1,10,100] [direct]
 *
 * Per level and host: eligible pushes (linux/amd64 images of 20 repositories, each batch seeded just before it is
 * delivered, as events arrive seconds after their push), then ineligible pushes (linux/arm64, a fifth as many), then
 * every eligible event delivered again (a duplicate delivery). Batches of 100 alternate between the hosts (the order
 * flips every round). Latency runs from the delivery to the `POST _streaming/{digest}` reaching the registry
 * (emulator request log, same clock). ACR requests count everything the registry received while a host's batch ran,
 * token requests apart. Table requests (a pass-through proxy in front of Azurite's table endpoint; `direct` leaves
 * it out) likewise.
 */
import os from 'node:os';
import pLimit from 'p-limit';
import { startAzurite } from '../dev/azurite.js';
import type { RequestLogEntry } from '../dev/emulator/contract.js';
import { pushPathSettings } from './push-path-settings.js';
import { SandboxHarness, type HostProcess } from '../test/support/sandbox-harness.js';
import { proxiedConnectionString, startFaultProxy, type FaultProxy } from '../test/support/table-fault-proxy.js';
import { baselineLabel, baselineTree } from './baseline.js';

const eventsPerLevel = Number(process.argv[2] ?? 1_000);
const levels = (process.argv[3] ?? '1,10,100').split(',').map(Number);
const direct = process.argv[4] === 'direct';
const batchSize = 100;
const repositories = 20;

type Phase = 'eligible' | 'ineligible' | 'duplicate';
const phases: readonly Phase[] = ['eligible', 'ineligible', 'duplicate'];

interface Tally {
  events: number;
  seconds: number;
  dataPlane: number;
  tokens: number;
  tables: number;
  posts: number;
  latencies: number[];
}

interface Variant {
  readonly name: string;
  readonly host: HostProcess;
  /** Eligible events delivered at this level, for the duplicate phase. */
  delivered: unknown[];
  readonly tallies: Map<string, Tally>;
}

const tally = (variant: Variant, level: number, phase: Phase): Tally => {
  const key = `${level}/${phase}`;
  let found = variant.tallies.get(key);
  if (found === undefined) {
    found = { events: 0, seconds: 0, dataPlane: 0, tokens: 0, tables: 0, posts: 0, latencies: [] };
    variant.tallies.set(key, found);
  }
  return found;
};

/** Seeds `count` images for a batch and returns the ImagePushed events the emulator raised for them. */
async function seedBatch(
  sandbox: SandboxHarness,
  prefix: string,
  platform: 'linux/amd64' | 'linux/arm64',
  first: number,
  count: number,
): Promise<unknown[]> {
  const limit = pLimit(16);
  const digests = await Promise.all(
    Array.from({ length: count }, (_, offset) =>
      limit(async () => {
        const index = first + offset;
        const seeded = await sandbox.emulator.control.seedImage('sandbox', {
          kind: 'image',
          repository: `${prefix}/repo${index % repositories}`,
          tag: `t${index}`,
          platform,
        });
        return seeded.digest;
      }),
    ),
  );
  const wanted = new Set(digests);
  const byDigest = new Map<string, unknown>();
  for (const event of sandbox.emulator.eventGrid.publishedEvents()) {
    const digest = (event.data as { target?: { digest?: string } }).target?.digest;
    if (digest !== undefined && wanted.has(digest) && event.eventType.endsWith('ImagePushed'))
      byDigest.set(digest, event);
  }
  return digests.map((digest) => byDigest.get(digest));
}

async function deliverBatch(
  sandbox: SandboxHarness,
  tables: FaultProxy | undefined,
  variant: Variant,
  level: number,
  phase: Phase,
  events: unknown[],
): Promise<void> {
  const control = sandbox.emulator.control;
  const before = (await control.requests({ listener: 'registry' })).at(-1)?.sequence ?? 0;
  const tablesBefore = tables?.stats.requests ?? 0;
  const sentAt = new Map<string, number>();
  const limit = pLimit(level);
  const started = performance.now();
  await Promise.all(
    events.map((event) =>
      limit(async () => {
        const digest = (event as { data: { target: { digest: string } } }).data.target.digest;
        sentAt.set(digest, Date.now());
        const status = await sandbox.deliver(variant.host, [event]);
        if (status !== 200 && status !== 202) throw new Error(`${variant.name}: webhook answered ${status}`);
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const requests: RequestLogEntry[] = await control.requests({ listener: 'registry', since: before });
  const into = tally(variant, level, phase);
  into.events += events.length;
  into.seconds += seconds;
  into.tables += (tables?.stats.requests ?? 0) - tablesBefore;
  for (const entry of requests) {
    if (entry.path.startsWith('/oauth2/')) into.tokens++;
    else into.dataPlane++;
    const match = /^\/acr\/v1\/.+\/_streaming\/(sha256:[a-f0-9]{64})$/.exec(entry.path);
    if (entry.method !== 'POST' || !match) continue;
    into.posts++;
    const sent = sentAt.get(match[1]!);
    if (sent !== undefined && entry.status === 202) into.latencies.push(Date.parse(entry.time) - sent);
  }
}

async function runLevel(
  sandbox: SandboxHarness,
  tables: FaultProxy | undefined,
  variants: readonly Variant[],
  level: number,
): Promise<void> {
  for (const variant of variants) variant.delivered = [];
  for (const phase of phases) {
    const total = phase === 'ineligible' ? Math.ceil(eventsPerLevel / 5) : eventsPerLevel;
    for (let first = 0, round = 0; first < total; first += batchSize, round++) {
      const count = Math.min(batchSize, total - first);
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        const events =
          phase === 'duplicate'
            ? variant.delivered.slice(first, first + count)
            : await seedBatch(
                sandbox,
                `bench/${variant.name}/c${level}/${phase}`,
                phase === 'eligible' ? 'linux/amd64' : 'linux/arm64',
                first,
                count,
              );
        await deliverBatch(sandbox, tables, variant, level, phase, events);
        if (phase === 'eligible') variant.delivered.push(...events);
      }
    }
  }
}

const percentile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};

async function main(): Promise<void> {
  const baselineRoot = baselineTree();
  const azurite = await startAzurite();
  const tables = direct
    ? undefined
    : await startFaultProxy({ target: { host: '127.0.0.1', port: azurite.ports.table }, seed: 1, enabled: false });
  // Conversions stay NotStarted for the whole run: this measures the push path, not ACR's conversion time; the timers
  // are parked so only the event path touches storage.
  const sandbox = await SandboxHarness.start({
    storageConnectionString: tables
      ? proxiedConnectionString(azurite.connectionString, { table: tables.url })
      : azurite.connectionString,
    conversion: { startDelayMs: 3_600_000 },
    settings: { ...pushPathSettings },
  });
  const variants: Variant[] = [
    {
      name: 'today',
      host: await sandbox.startHost({ subscribe: false, root: baselineRoot }),
      delivered: [],
      tallies: new Map(),
    },
    { name: 'new', host: await sandbox.startHost({ subscribe: false }), delivered: [], tallies: new Map() },
  ];
  const started = performance.now();
  try {
    for (const level of levels) await runLevel(sandbox, tables, variants, level);
  } finally {
    await sandbox.close();
    await tables?.close();
    await azurite.stop();
  }
  const [today, now] = variants as [Variant, Variant];
  console.log(
    `\npush → conversion requested: ${baselineLabel()} against this checkout, interleaved batches of ${batchSize}; ${eventsPerLevel} eligible, ${Math.ceil(eventsPerLevel / 5)} ineligible and ${eventsPerLevel} duplicate deliveries per level and host; ${direct ? 'host straight to Azurite' : 'Table requests counted by a pass-through proxy'}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
  );
  console.log(
    '| concurrency | push | code | events/s | new ÷ today | p50 ms | p99 ms | ACR data-plane/event | ACR tokens/event | ACR requests/event | Table requests/event | POSTs |',
  );
  console.log('|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const level of levels)
    for (const phase of phases)
      for (const variant of [today, now]) {
        const t = tally(variant, level, phase);
        const base = tally(today, level, phase);
        const rate = t.events / t.seconds;
        const ratio = rate / (base.events / base.seconds);
        const per = (n: number): string => (n / t.events).toFixed(2);
        const latency = (q: number): string => (t.latencies.length === 0 ? '—' : String(percentile(t.latencies, q)));
        console.log(
          `| ${level} | ${phase} | ${variant.name} | ${rate.toFixed(1)} | ${ratio.toFixed(2)} | ${latency(0.5)} | ${latency(0.99)} | ${per(t.dataPlane)} | ${per(t.tokens)} | ${per(t.dataPlane + t.tokens)} | ${direct ? '—' : per(t.tables)} | ${t.posts} |`,
        );
      }
}

await main();
