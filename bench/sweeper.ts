/**
 * How the sweeper finds work in flight: the old full-table query (`status eq 'Pending' or status eq 'Running'`, every
 * partition scanned) against the in-flight index partition (issue #14, scenario 9). Wall time and Table Storage
 * requests, in the same run, over one Azurite (in memory).
 *
 *   npx tsx bench/sweeper.ts [rows, default 100000] [in flight, default 50] [registries, default 10]
 *
 * The finished rows are seeded with batch transactions (100 per batch, one partition per registry); the rows in
 * flight are written through TableConversionStore, so they carry their index entries as the app writes them.
 */
import { TableClient, type TransactionAction } from '@azure/data-tables';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { startAzurite } from '../dev/azurite.js';
import { conversionKeys, type ConversionRecord } from '../lib/conversion/record.js';
import { ConversionService } from '../lib/conversion/service.js';
import { silentLogger } from '../lib/core/logging.js';
import { configPolicySource } from '../lib/policy/config-source.js';
import { policySchema } from '../lib/policy/model.js';
import { TableConversionStore } from '../lib/storage/conversion-store.js';

const rows = Number(process.argv[2] ?? 100_000);
const seededAt = '2026-03-01T12:00:00.000Z';
const inFlight = Number(process.argv[3] ?? 50);
const registries = Number(process.argv[4] ?? 10);

let requests = 0;
const counting: PipelinePolicy = {
  name: 'countRequests',
  sendRequest: (request, next) => {
    requests++;
    return next(request);
  },
};

function record(registry: string, index: number, status: ConversionRecord['status']): ConversionRecord {
  return {
    registry,
    repository: `bench/repo${index % 20}`,
    digest: `sha256:${index.toString(16).padStart(64, '0')}`,
    status,
    tags: [`t${index}`],
    reason: 'benchmark',
    source: 'event',
    attempts: status === 'Skipped' ? 0 : 1,
    maxAttempts: 3,
    polls: 4,
    createdAt: '2026-03-01T12:00:00.000Z',
    updatedAt: '2026-03-01T12:00:00.000Z',
  };
}

async function measure(
  label: string,
  run: () => Promise<number>,
): Promise<{ label: string; ms: number; requests: number; found: number }> {
  const before = requests;
  const started = performance.now();
  const found = await run();
  return { label, ms: performance.now() - started, requests: requests - before, found };
}

async function main(): Promise<void> {
  const azurite = await startAzurite();
  try {
    const table = TableClient.fromConnectionString(azurite.connectionString, 'BenchConversions', {
      allowInsecureConnection: true,
      additionalPolicies: [{ policy: counting, position: 'perCall' }],
    });
    await table.createTable();
    const store = new TableConversionStore(table);

    const seedStarted = performance.now();
    const finished = rows - inFlight;
    for (let registry = 0; registry < registries; registry++) {
      const name = `reg${registry}`;
      const mine = Array.from({ length: Math.ceil(finished / registries) }, (_, i) => i * registries + registry).filter(
        (index) => index < finished,
      );
      for (let start = 0; start < mine.length; start += 100) {
        const actions: TransactionAction[] = mine.slice(start, start + 100).map((index) => {
          const row = record(name, index, index % 4 === 0 ? 'Skipped' : 'Succeeded');
          return ['create', { ...row, ...conversionKeys(row), tags: JSON.stringify(row.tags) }];
        });
        await table.submitTransaction(actions);
      }
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    const count = async (iterable: AsyncIterable<unknown>): Promise<number> => {
      let found = 0;
      for await (const _ of iterable) found++;
      return found;
    };
    // The old sweeper's Table traffic: one filtered query over every partition.
    const scan = () =>
      count(
        table.listEntities({
          // The old query; the index partition (which did not exist then) left out.
          queryOptions: { filter: `PartitionKey ne '~inflight' and (status eq 'Pending' or status eq 'Running')` },
        }),
      );
    // The sweeper now: the service's own sweep over the index (nothing due yet, then everything due).
    let now = Date.parse(seededAt);
    const sent: unknown[] = [];
    const service = new ConversionService({
      registries: [],
      gateway: () => {
        throw new Error('the sweeper calls no registry');
      },
      store,
      outbox: { append: () => Promise.resolve() },
      queue: { send: (message) => Promise.resolve(void sent.push(message)) },
      policies: configPolicySource(policySchema.parse({})),
      readiness: () => Promise.resolve({ ready: true }),
      settings: { firstPollSeconds: 10, maxPollSeconds: 300, leaseSeconds: 300, quietSeconds: 600 },
      clock: { now: () => new Date(now) },
    });
    const sweep = () => service.sweep(silentLogger);
    // Deployed over the finished rows: the first sweep builds the index once (a scan; nothing in flight yet).
    const results = [await measure('new: first sweep after the upgrade (builds the index once)', sweep)];
    // In flight as the app leaves them: claimed (Pending, a 5 min lease; the claim writes the index entry), then
    // Running with the next check an hour away (between in-flight states: the entry keeps the claim).
    for (let index = finished; index < rows; index++) {
      const claim: ConversionRecord = {
        ...record(`reg${index % registries}`, index, 'Pending'),
        leaseUntil: new Date(Date.parse(seededAt) + 300_000).toISOString(),
        updatedAt: seededAt,
      };
      const etag = await store.create(claim);
      await store.replace(
        {
          ...claim,
          status: 'Running',
          leaseUntil: undefined,
          operationId: `op-${index}`,
          trackingToken: `t-${index}`,
          nextCheckAt: new Date(Date.parse(seededAt) + 3_600_000).toISOString(),
        },
        etag!,
      );
    }
    results.unshift(await measure('old: full-table query, every sweep (before)', scan));
    results.push(await measure("new: a sweep within the claims' lease: nothing read (after)", sweep));
    now += 10 * 60_000;
    results.push(await measure(`new: a sweep later: the ${inFlight} rows read, none due (after)`, sweep));
    results.push(await measure('old: full-table query again (warm)', scan));
    now += 2 * 3_600_000;
    results.push(await measure(`new: a sweep, all ${inFlight} due (reads and re-drives each)`, sweep));
    const baseline = results[0]!;
    console.log(
      `${rows} conversion rows (${inFlight} in flight) in ${registries} registries; seeded in ${seedSeconds.toFixed(0)} s`,
    );
    console.log('| how | rows found or re-driven | seconds | Table requests | time ratio | request ratio |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const result of results)
      console.log(
        `| ${result.label} | ${result.found} | ${(result.ms / 1000).toFixed(3)} | ${result.requests} | ${(result.ms / baseline.ms).toFixed(3)} | ${(result.requests / baseline.requests).toFixed(3)} |`,
      );
  } finally {
    await azurite.stop();
  }
}

await main();
