import { beforeAll, describe, expect, it } from 'vitest';
import { runChaos, type ChaosReport } from '../support/chaos-runner.js';
import { chaosLog, reducedSize, summary } from './size.js';

/**
 * The promise under crashes and upstream faults (issue #9 items 1–2) at the reduced size of `npm test`
 * (`bench/chaos.ts` runs the full size). The three runs share nothing (each has its own emulator, Azurite, proxy and
 * host on its own ports), so they run at once: the suite takes as long as the slowest, not the sum.
 *
 * - crashes: the local host is SIGKILLed at seeded moments while pushes arrive and restarted on the same port (Event
 *   Grid keeps retrying the same webhook), and the persistent Azurite is restarted once;
 * - faults: ACR answers ~10 % 5xx, ~5 % 429 with Retry-After 1, latency spikes and dropped connections on the app's
 *   routes; Table Storage (through the fault proxy) answers 5xx without writing, loses the answers of writes it
 *   applied, stalls and resets;
 * - fault-free: the same size without either, the yardstick for the faults run's ACR requests.
 *
 * All three run with the emulator's hostile modes and concurrent Event Grid delivery ({@link reducedSize}).
 */
describe('chaos', () => {
  let crashes: ChaosReport;
  let baseline: ChaosReport;
  let faulty: ChaosReport;

  beforeAll(async () => {
    [crashes, baseline, faulty] = await Promise.all([
      // A worker killed between its POST and recording it is re-driven after its lease (10 s) and the sweeper: the
      // re-drive learns whether the POST was made from ACR's operation of the digest. An ACR that forgot it by then
      // leaves that undecidable (docs/assumptions.md A5), so here operations are kept 60 s after they end; the other
      // runs forget them after 1 s.
      runChaos({
        name: 'crashes',
        ...reducedSize,
        hostile: { ...reducedSize.hostile, operationExpiry: { afterMs: 60_000, from: 'finished' } },
        kills: 3,
        azuriteRestarts: 1,
        faults: false,
        log: chaosLog,
      }),
      runChaos({ name: 'fault-free', ...reducedSize, kills: 0, azuriteRestarts: 0, faults: false, log: chaosLog }),
      runChaos({ name: 'faults', ...reducedSize, kills: 0, azuriteRestarts: 0, faults: true, log: chaosLog }),
    ]);
    for (const report of [crashes, baseline, faulty]) chaosLog(`seed ${reducedSize.seed}: ${summary(report)}`);
  }, 280_000);

  it('converges through SIGKILLed hosts and an Azurite restart: every digest final, one operation each, one alert per channel', () => {
    expect(crashes.violations).toEqual([]);
    expect(crashes).toMatchObject({
      pushes: 40,
      kills: 3,
      azuriteRestarts: 1,
      succeeded: 30,
      failed: 10,
      operationsPerSucceeded: { min: 1, max: 1 },
      operationsPerFailed: { min: 2, max: 2 },
    });
  });

  it('converges without faults (the yardstick), through read lag and forgotten operations', () => {
    expect(baseline.violations).toEqual([]);
    // The hostile modes were on and the app met them (the 409 needs a race, so it may not show in every run).
    expect(baseline.hostileAnswers.laggingManifestReads).toBeGreaterThan(0);
    expect(baseline.hostileAnswers.forgottenOperationPolls).toBeGreaterThan(0);
    expect(baseline.hostileAnswers.unknownStatusPolls).toBeGreaterThan(0);
  });

  it('converges through ACR and Table Storage faults with at most twice the ACR requests of the fault-free run', () => {
    const ratio = faulty.acrRequests / baseline.acrRequests;
    chaosLog(
      `seed ${reducedSize.seed}: ACR requests fault-free ${baseline.acrRequests}, faulty ${faulty.acrRequests}, ratio ${ratio.toFixed(2)}`,
    );
    expect(faulty.violations).toEqual([]);
    expect(faulty.acrFaultsInjected).toBeGreaterThan(0);
    expect(faulty.storageFaults?.['lost-response']).toBeGreaterThan(0);
    expect(ratio).toBeLessThanOrEqual(2);
  });
});
