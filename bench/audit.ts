/**
 * The missing-streaming-artifact audit over a large registry: manifests per second, ACR requests (total and
 * referrer checks) and memory, for a first (cold) run and the incremental run after it.
 *
 *   npx tsx bench/audit.ts [manifests, default 10000] [repositories, default 20]
 *
 * Runs in one process with the emulator and a child Azurite; memory is reported as the heap growth during the
 * audit (the emulator's own store is in the same heap and is measured before the run starts).
 */
import os from 'node:os';
import { TableClient } from '@azure/data-tables';
import pLimit from 'p-limit';
import { startAzurite } from '../dev/azurite.js';
import { EmulatorControlClient } from '../dev/emulator/control-client.js';
import { startEmulator } from '../dev/emulator/server.js';
import { ImageAudit, type AuditMessage } from '../lib/audit/images.js';
import { TableAuditStore } from '../lib/audit/store.js';
import { silentLogger } from '../lib/logging.js';
import { configPolicySource } from '../lib/policy/config-source.js';
import { policySchema } from '../lib/policy/model.js';
import { RegistryClient } from '../lib/registry/client.js';
import { TableConversionStore } from '../lib/storage/conversion-store.js';
import { TableOutbox } from '../lib/storage/outbox.js';
import { trustingHttpClient } from '../test/support/trust.js';

const manifests = Number(process.argv[2] ?? 10_000);
const repositories = Number(process.argv[3] ?? 20);

async function main(): Promise<void> {
  const azurite = await startAzurite();
  const emulator = await startEmulator({ registries: [{ name: 'sandbox' }] });
  try {
    const registry = emulator.registry('sandbox');
    const control = new EmulatorControlClient(emulator.controlUrl);
    const seedStarted = performance.now();
    const limit = pLimit(16);
    await Promise.all(
      Array.from({ length: manifests }, (_, index) =>
        limit(async () => {
          const { digest } = await control.seedImage('sandbox', { kind: 'image', repository: `bench/repo${index % repositories}`, tag: `t${index}`, platform: index % 10 === 9 ? 'linux/arm64' : 'linux/amd64', label: `b${index}` });
          // A third of the images already have their streaming artifact.
          if (index % 3 === 0) await control.seedImage('sandbox', { kind: 'streaming-referrer', repository: `bench/repo${index % repositories}`, subject: digest });
        }),
      ),
    );
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    const table = (name: string): TableClient => TableClient.fromConnectionString(azurite.connectionString, `bench${name}`, { allowInsecureConnection: true });
    await Promise.all(['Audits', 'Conversions', 'Outbox'].map((name) => table(name).createTable()));
    const queue: AuditMessage[] = [];
    const client = new RegistryClient({ loginServer: registry.loginServer, credentials: { type: 'password', username: registry.username!, password: registry.password! }, httpClient: trustingHttpClient(registry.caFile), concurrency: 8 });
    const audit = new ImageAudit({
      registries: [{ name: 'sandbox', loginServer: registry.loginServer, resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/sandbox', auth: { type: 'identity' } }],
      registry: () => client,
      conversions: new TableConversionStore(table('Conversions')),
      service: { request: () => Promise.reject(new Error('no backfill in the benchmark')) },
      policies: configPolicySource(policySchema.parse({ mode: 'onPush', backfill: { maxAgeDays: 3_650 } })),
      readiness: () => Promise.resolve({ ready: true }),
      store: new TableAuditStore(table('Audits')),
      queue: { send: (message) => Promise.resolve(void queue.push(message)) },
      outbox: new TableOutbox(table('Outbox')),
      settings: { reverifySeconds: 7 * 86_400, requestBudget: 1_000_000, backfillBudget: 0, quietSeconds: 600, maxMessageMs: 3_600_000 },
      clock: { now: () => new Date() },
    });

    const measure = async (label: string) => {
      await control.clearRequests();
      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      let peakHeap = heapBefore;
      const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 50);
      const started = performance.now();
      await audit.start('sandbox', silentLogger);
      let run;
      while (queue.length > 0) run = await audit.continue(queue.shift(), silentLogger);
      const seconds = (performance.now() - started) / 1000;
      clearInterval(sampler);
      const requests = await control.requests({ listener: 'registry' });
      return {
        label,
        seconds,
        examined: run?.counters.examined ?? 0,
        acrRequests: requests.length,
        referrerRequests: requests.filter((entry) => entry.path.includes('/referrers/')).length,
        peakHeapGrowthMiB: (peakHeap - heapBefore) / 1024 / 1024,
        streamable: run?.counters.streamable ?? 0,
        missing: run?.counters.missing ?? 0,
      };
    };
    const first = await measure('first run');
    const second = await measure('incremental run');

    console.log(`\naudit of ${manifests} images in ${repositories} repositories (+${Math.ceil(manifests / 3)} streaming referrers); seeded in ${seedSeconds.toFixed(1)} s; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`);
    console.log('| run | manifests examined | seconds | manifests/s | ACR requests | referrer checks | × first run (referrer checks) | peak heap growth MiB | streamable | missing |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of [first, second]) {
      console.log(`| ${r.label} | ${r.examined} | ${r.seconds.toFixed(1)} | ${(r.examined / r.seconds).toFixed(0)} | ${r.acrRequests} | ${r.referrerRequests} | ${(r.referrerRequests / Math.max(1, first.referrerRequests)).toFixed(3)} | ${r.peakHeapGrowthMiB.toFixed(1)} | ${r.streamable} | ${r.missing} |`);
    }
  } finally {
    await emulator.close();
    await azurite.stop();
  }
}

await main();
