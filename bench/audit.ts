/**
 * The missing-streaming-artifact audit over a large registry: manifests per second, ACR requests (total and
 * referrer checks) and peak RSS, for a first (cold) run and the incremental run after it.
 *
 *   npx tsx bench/audit.ts [images, default 10000] [repositories, default 20]
 *
 * This process runs the emulator and a child Azurite and seeds the registry; each audit run is a child process of
 * its own (bench/audit-run.ts), so its peak RSS is the audit's, not the emulator's in-memory registry. Today's code
 * (bench/baseline.ts; BENCH_BASELINE=<ref>, or `none` to run this checkout alone) audits the same registry into
 * tables of its own, interleaved with this checkout's runs: first runs, then incremental runs.
 */
import os from 'node:os';
import pLimit from 'p-limit';
import { startAzurite } from '../dev/azurite.js';
import { EmulatorControlClient } from '../dev/emulator/control-client.js';
import { startEmulator } from '../dev/emulator/server.js';
import type { AuditRunTarget } from './audit-run.js';
import { auditInChild, auditTarget } from './audit-child.js';
import { baselineLabel, baselineTree } from './baseline.js';

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

    const codes = [
      ...(process.env.BENCH_BASELINE === 'none' ? [] : [{ code: baselineLabel(), codeRoot: baselineTree() }]),
      { code: 'this branch', codeRoot: undefined },
    ];
    // BENCH_AUDIT_FIRST=shared: one first run (this branch) whose findings both codes' incremental runs start from
    // (the stored finding is the same shape in both), when two first runs take too long on a shared machine.
    const shared = process.env.BENCH_AUDIT_FIRST === 'shared';
    const targets = await Promise.all(
      codes.map(async ({ code, codeRoot }, index) => ({
        code,
        target: {
          // createTable leaves an existing table alone (the SDK swallows TableAlreadyExists).
          ...(await auditTarget(registry, azurite.connectionString, `bench${shared ? 0 : index}`)),
          ...(codeRoot ? { codeRoot } : {}),
        },
      })),
    );

    const measure = async (code: string, target: AuditRunTarget, label: string) => {
      await control.clearRequests();
      const result = await auditInChild(target);
      const requests = await control.requests({ listener: 'registry' });
      console.error(`${code}, ${label}: ${result.seconds.toFixed(1)} s`);
      return {
        code,
        label,
        ...result,
        acrRequests: requests.length,
        referrerRequests: requests.filter((entry) => entry.path.includes('/referrers/')).length,
      };
    };
    const results: Awaited<ReturnType<typeof measure>>[] = [];
    for (const label of ['first run', 'incremental run'])
      for (const { code, target } of targets)
        if (!shared || label !== 'first run' || target.codeRoot === undefined)
          results.push(await measure(code, target, label));

    console.log(
      `\naudit of ${images} images in ${repositories} repositories (+${Math.ceil(images / 3)} streaming referrers); seeded in ${seedSeconds.toFixed(1)} s; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`,
    );
    console.log(
      '| code | run | manifests examined | seconds | × first run (seconds) | of which Table Storage s | manifests/s | Table writes (deletes) | Table writes per manifest | ACR requests | ACR requests per manifest | referrer checks | peak RSS MiB (baseline) | peak heap MiB | streamable | missing |',
    );
    console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of results) {
      const first = results.find((other) => other.code === r.code && other.label === 'first run') ?? r;
      console.log(
        `| ${r.code} | ${r.label} | ${r.examined} | ${r.seconds.toFixed(1)} | ${(r.seconds / first.seconds).toFixed(3)} | ${r.tableSeconds.toFixed(1)} | ${(r.examined / r.seconds).toFixed(0)} | ${r.tableWrites} (${r.tableDeletes}) | ${(r.tableWrites / Math.max(1, r.examined)).toFixed(4)} | ${r.acrRequests} | ${(r.acrRequests / Math.max(1, r.examined)).toFixed(3)} | ${r.referrerRequests} | ${r.peakRssMiB.toFixed(0)} (${r.baselineRssMiB.toFixed(0)}) | ${r.peakHeapMiB.toFixed(0)} | ${r.streamable} | ${r.missing} |`,
      );
    }
    if (targets.length === 2) {
      const ratio = (label: string): string => {
        const [today, next] = results.filter((r) => r.label === label);
        return today && next ? (next.seconds / today.seconds).toFixed(3) : '-';
      };
      console.log(
        `\nthis branch ÷ today (seconds): first run ${ratio('first run')}, incremental run ${ratio('incremental run')}`,
      );
    }
  } finally {
    await emulator.close();
    await azurite.stop();
  }
}

await main();
