/**
 * What holding ACR's switch to the policy costs an audit run (issue #15): a registry of many repositories under a
 * native policy, audited incrementally (referrers already verified) without the switch check (the baseline, as
 * before #15), with it while every switch is in line, with it while a tenth have drifted, and without it again
 * (the spread between the two baselines is the machine's noise).
 *
 *   npx tsx bench/drift.ts [repositories, default 1000] [drifted share, default 0.1]
 *
 * Each audit run is a child process of its own (bench/audit-run.ts); this one holds the emulator and Azurite.
 */
import os from 'node:os';
import pLimit from 'p-limit';
import { startAzurite } from '../dev/azurite.js';
import { EmulatorControlClient } from '../dev/emulator/control-client.js';
import { startEmulator } from '../dev/emulator/server.js';
import { auditInChild, auditTarget } from './audit-child.js';
import type { AuditRunTarget } from './audit-run.js';

const repositories = Number(process.argv[2] ?? 1_000);
const driftedShare = Number(process.argv[3] ?? 0.1);

async function main(): Promise<void> {
  const azurite = await startAzurite();
  const emulator = await startEmulator({ registries: [{ name: 'sandbox' }], requestLogCapacity: 200_000 });
  try {
    const registry = emulator.registry('sandbox');
    const control = new EmulatorControlClient(emulator.controlUrl);
    const repository = (index: number): string => `bench/repo${String(index).padStart(5, '0')}`;
    const limit = pLimit(16);
    await Promise.all(
      Array.from({ length: repositories }, (_, index) =>
        limit(async () => {
          const { digest } = await control.seedImage('sandbox', {
            kind: 'image',
            repository: repository(index),
            tag: 'v1',
            platform: 'linux/amd64',
          });
          await control.seedImage('sandbox', {
            kind: 'streaming-referrer',
            repository: repository(index),
            subject: digest,
          });
          await control.setConvertPushedImages('sandbox', repository(index), true);
        }),
      ),
    );
    const target: AuditRunTarget = {
      ...(await auditTarget(registry, azurite.connectionString, 'drift')),
      mode: 'native',
    };
    const measure = async (label: string, checkSwitches: boolean) => {
      await control.clearRequests();
      const result = await auditInChild({ ...target, checkSwitches });
      const requests = await control.requests({ listener: 'registry' });
      const switchRequests = requests.filter((entry) => /^\/acr\/v1\/.+\/_streaming$/.test(entry.path));
      console.error(`${label}: ${result.seconds.toFixed(2)} s`);
      return { label, ...result, acrRequests: requests.length, switchRequests: switchRequests.length };
    };
    // The first run verifies every referrer; the runs measured are incremental, as the hourly audit is.
    await measure('warm-up (first run)', false);
    const runs = [await measure('without the switch check (baseline)', false)];
    runs.push(await measure('with the check, all in line', true));
    const drifted = Math.round(repositories * driftedShare);
    for (let index = 0; index < drifted; index++)
      await control.setConvertPushedImages('sandbox', repository(index * Math.floor(repositories / drifted)), false);
    runs.push(await measure(`with the check, ${drifted} drifted`, true));
    runs.push(await measure('without the switch check (baseline again)', false));

    const baseline = runs[0]!;
    console.log(
      `\nincremental audit of ${repositories} repositories (one image each, native policy); ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`,
    );
    console.log(
      '| run | seconds | × baseline | ACR requests | × baseline | switch GET/POST | switch checks | repairs | of which Table Storage s |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const run of runs)
      console.log(
        `| ${run.label} | ${run.seconds.toFixed(2)} | ${(run.seconds / baseline.seconds).toFixed(2)} | ${run.acrRequests} | ${(run.acrRequests / baseline.acrRequests).toFixed(2)} | ${run.switchRequests} | ${run.switchChecks} | ${run.switchRepairs} | ${run.tableSeconds.toFixed(2)} |`,
      );
  } finally {
    await emulator.close();
    await azurite.stop();
  }
}

await main();
