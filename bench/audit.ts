/**
 * The missing-streaming-artifact audit over a large registry: manifests per second, ACR requests (total and
 * referrer checks) and peak RSS, for a first (cold) run and the incremental run after it.
 *
 *   npx tsx bench/audit.ts [images, default 10000] [repositories, default 20]
 *
 * This process runs the emulator and a child Azurite and seeds the registry; each audit run is a child process of
 * its own (bench/audit-run.ts), so its peak RSS is the audit's, not the emulator's in-memory registry.
 */
import os from 'node:os';
import pLimit from 'p-limit';
import { startAzurite } from '../dev/azurite.js';
import { EmulatorControlClient } from '../dev/emulator/control-client.js';
import { startEmulator } from '../dev/emulator/server.js';
import { auditInChild, auditTarget } from './audit-child.js';

const images = Number(process.argv[2] ?? 10_000);
const repositories = Number(process.argv[3] ?? 20);

async function main(): Promise<void> {
  const azurite = await startAzurite();
  // Every request of a 100k run must stay countable.
  const emulator = await startEmulator({ registries: [{ name: 'sandbox' }], requestLogCapacity: 2_000_000 });
  try {
    const registry = emulator.registry('sandbox');
    const control = new EmulatorControlClient(emulator.controlUrl);
    const seedStarted = performance.now();
    const limit = pLimit(16);
    await Promise.all(
      Array.from({ length: images }, (_, index) =>
        limit(async () => {
          const { digest } = await control.seedImage('sandbox', {
            kind: 'image',
            repository: `bench/repo${index % repositories}`,
            tag: `t${index}`,
            platform: index % 10 === 9 ? 'linux/arm64' : 'linux/amd64',
            label: `b${index}`,
          });
          // A third of the images already have their streaming artifact.
          if (index % 3 === 0)
            await control.seedImage('sandbox', {
              kind: 'streaming-referrer',
              repository: `bench/repo${index % repositories}`,
              subject: digest,
            });
        }),
      ),
    );
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    console.error(`seeded ${images} images in ${seedSeconds.toFixed(1)} s`);

    const target = await auditTarget(registry, azurite.connectionString, 'bench');

    const measure = async (label: string) => {
      await control.clearRequests();
      const result = await auditInChild(target);
      const requests = await control.requests({ listener: 'registry' });
      console.error(`${label}: ${result.seconds.toFixed(1)} s`);
      return {
        label,
        ...result,
        acrRequests: requests.length,
        referrerRequests: requests.filter((entry) => entry.path.includes('/referrers/')).length,
      };
    };
    const first = await measure('first run');
    const second = await measure('incremental run');

    console.log(
      `\naudit of ${images} images in ${repositories} repositories (+${Math.ceil(images / 3)} streaming referrers); seeded in ${seedSeconds.toFixed(1)} s; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`,
    );
    console.log(
      '| run | manifests examined | seconds | of which Table Storage s | manifests/s | ACR requests | ACR requests per manifest | referrer checks | × first run (referrer checks) | peak RSS MiB (baseline) | peak heap MiB | streamable | missing |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of [first, second]) {
      console.log(
        `| ${r.label} | ${r.examined} | ${r.seconds.toFixed(1)} | ${r.tableSeconds.toFixed(1)} | ${(r.examined / r.seconds).toFixed(0)} | ${r.acrRequests} | ${(r.acrRequests / Math.max(1, r.examined)).toFixed(3)} | ${r.referrerRequests} | ${(r.referrerRequests / Math.max(1, first.referrerRequests)).toFixed(3)} | ${r.peakRssMiB.toFixed(0)} (${r.baselineRssMiB.toFixed(0)}) | ${r.peakHeapMiB.toFixed(0)} | ${r.streamable} | ${r.missing} |`,
      );
    }
  } finally {
    await emulator.close();
    await azurite.stop();
  }
}

await main();
