/**
 * Push → conversion requested: how fast the app turns ImagePushed events into `POST _streaming/{digest}` calls,
 * and what each event costs in ACR requests. Runs the real local host (child process) against the sandbox
 * emulator and a real Azurite; events are delivered straight to the host's Event Grid webhook at a fixed
 * concurrency, so the figures are the app's, not Event Grid's.
 *
 *   npx tsx bench/push-to-conversion.ts [events per level, default 1000] [levels, default 1,10,100] [direct]
 *
 * `direct` points the host straight at Azurite (no counting proxy, so no Table column): the proxy hop's own cost.
 *
 * Prints, per concurrency level: events/s, p50/p99 latency from delivery to the POST reaching the registry, ACR
 * requests per event (token requests included) and Table Storage requests per event (counted by a pass-through
 * proxy in front of Azurite's table endpoint), with throughput as a ratio to the first level.
 */
import os from 'node:os';
import pLimit from 'p-limit';
import { startAzurite } from '../dev/azurite.js';
import { pushPathSettings } from './push-path-settings.js';
import { SandboxHarness, type HostProcess } from '../test/support/sandbox-harness.js';
import { proxiedConnectionString, startFaultProxy, type FaultProxy } from '../test/support/table-fault-proxy.js';

const eventsPerLevel = Number(process.argv[2] ?? 1_000);
const levels = (process.argv[3] ?? '1,10,100').split(',').map(Number);
const direct = process.argv[4] === 'direct';

interface LevelResult {
  readonly concurrency: number;
  readonly events: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly acrRequestsPerEvent: number;
  readonly tableRequestsPerEvent: number | undefined;
  readonly converted: number;
}

async function seed(sandbox: SandboxHarness, level: number, count: number): Promise<unknown[]> {
  const limit = pLimit(16);
  const digests = await Promise.all(
    Array.from({ length: count }, (_, index) =>
      limit(
        async () =>
          (
            await sandbox.emulator.control.seedImage('sandbox', {
              kind: 'image',
              repository: `bench/c${level}/repo${index % 20}`,
              tag: `t${index}`,
              platform: 'linux/amd64',
            })
          ).digest,
      ),
    ),
  );
  return digests.map((digest) => sandbox.publishedPush(digest));
}

async function runLevel(
  sandbox: SandboxHarness,
  host: HostProcess,
  tables: FaultProxy | undefined,
  concurrency: number,
): Promise<LevelResult> {
  const events = await seed(sandbox, concurrency, eventsPerLevel);
  const tableRequestsBefore = tables?.stats.requests ?? 0;
  const control = sandbox.emulator.control;
  const before = (await control.requests({ listener: 'registry' })).at(-1)?.sequence ?? 0;
  const sentAt = new Map<string, number>();
  const limit = pLimit(concurrency);
  const started = performance.now();
  await Promise.all(
    events.map((event) =>
      limit(async () => {
        const digest = (event as { data: { target: { digest: string } } }).data.target.digest;
        sentAt.set(digest, Date.now());
        const status = await sandbox.deliver(host, [event]);
        if (status !== 200) throw new Error(`webhook answered ${status}`);
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const requests = await control.requests({ listener: 'registry', since: before });
  const latencies: number[] = [];
  for (const entry of requests) {
    const match = /^\/acr\/v1\/.+\/_streaming\/(sha256:[a-f0-9]{64})$/.exec(entry.path);
    if (entry.method !== 'POST' || entry.status !== 202 || !match) continue;
    const sent = sentAt.get(match[1]!);
    if (sent !== undefined) latencies.push(Date.parse(entry.time) - sent);
  }
  latencies.sort((a, b) => a - b);
  const pick = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  const tableRequestsPerEvent = tables ? (tables.stats.requests - tableRequestsBefore) / events.length : undefined;
  return {
    concurrency,
    events: events.length,
    seconds,
    p50: pick(0.5),
    p99: pick(0.99),
    acrRequestsPerEvent: requests.length / events.length,
    tableRequestsPerEvent,
    converted: latencies.length,
  };
}

async function main(): Promise<void> {
  const azurite = await startAzurite();
  // A pass-through proxy (faults off) in front of the table endpoint counts the app's Table Storage requests.
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
  const host = await sandbox.startHost({ subscribe: false });
  const results: LevelResult[] = [];
  try {
    for (const level of levels) results.push(await runLevel(sandbox, host, tables, level));
  } finally {
    await sandbox.close();
    await tables?.close();
    await azurite.stop();
  }
  const baseline = results[0]!;
  console.log(
    `\npush → conversion requested, ${eventsPerLevel} events per level, ${direct ? 'host straight to Azurite' : 'Table requests counted by a pass-through proxy'}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`,
  );
  console.log(
    '| concurrency | events | events/s | × first level | p50 ms | p99 ms | ACR requests/event | Table requests/event | POSTs |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const rate = r.events / r.seconds;
    console.log(
      `| ${r.concurrency} | ${r.events} | ${rate.toFixed(1)} | ${(rate / (baseline.events / baseline.seconds)).toFixed(2)} | ${r.p50} | ${r.p99} | ${r.acrRequestsPerEvent.toFixed(2)} | ${r.tableRequestsPerEvent?.toFixed(2) ?? '—'} | ${r.converted} |`,
    );
  }
}

await main();
