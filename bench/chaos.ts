/**
 * The promise under crashes and upstream faults, at full size (issue #9 items 1–2): 500 pushes across 20
 * repositories (4 told to fail every conversion), the local host SIGKILLed and restarted ≥ 10 times and the
 * persistent Azurite restarted once; then the same size fault-free and with upstream faults (ACR: ~10 % 5xx, ~5 %
 * 429 Retry-After 1, latency spikes, dropped connections; Table Storage: 5xx without forwarding, lost responses of
 * applied writes, latency, resets). Prints a markdown table; exits 1 when a run broke a promise.
 *
 *   npx tsx bench/chaos.ts [pushes, default 500] [repositories, default 20] [kills, default 12] [seed]
 */
import { runChaos, type ChaosReport } from '../test/support/chaos-runner.js';

const pushes = Number(process.argv[2] ?? 500);
const repositories = Number(process.argv[3] ?? 20);
const kills = Number(process.argv[4] ?? 12);
const seed = Number(process.argv[5] ?? 20_260_109);
// Event Grid delivers concurrently; at this size one-at-a-time delivery (the emulator's reproducible default) would
// measure the emulator, not the app.
const size = {
  pushes,
  repositories,
  failingRepositories: Math.max(1, Math.round(repositories / 5)),
  skopeoPushes: 5,
  pushSpacingMs: 60,
  convergenceTimeoutMs: 600_000,
  seed,
  eventGridConcurrency: 16,
};
const log = (line: string): void => console.error(line);

const crashes = await runChaos({ name: 'crashes', ...size, kills, azuriteRestarts: 1, faults: false, log });
const baseline = await runChaos({ name: 'fault-free', ...size, kills: 0, azuriteRestarts: 0, faults: false, log });
const faulty = await runChaos({ name: 'faults', ...size, kills: 0, azuriteRestarts: 0, faults: true, log });

const range = (value: { min: number; max: number }): string =>
  value.min === value.max ? String(value.min) : `${value.min}–${value.max}`;
const alerts = (report: ChaosReport): string =>
  Object.entries(report.alertsPerFailed)
    .map(([channel, value]) => `${channel.replace('sandbox-', '')} ${range(value)}`)
    .join(', ');
const storage = (report: ChaosReport): string =>
  report.storageFaults
    ? `${report.storageFaults.error} 5xx, ${report.storageFaults['lost-response']} lost responses, ${report.storageFaults.latency} slow, ${report.storageFaults.drop} resets of ${report.storageFaults.requests}`
    : '—';

console.log(
  `\nseed ${seed}, ${pushes} pushes over ${repositories} repositories (${size.failingRepositories} failing, retry maxAttempts 2), ${size.skopeoPushes} with skopeo\n`,
);
console.log(
  '| run | pushes | kills | Azurite restarts | Succeeded / Failed | convergence (s) | operations per Succeeded digest | operations per Failed digest | alerts per Failed digest per channel | webhook re-deliveries (same id) | ACR requests | ACR faults | Table faults | poison | violations |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const report of [crashes, baseline, faulty]) {
  console.log(
    `| ${report.name} | ${report.pushes} | ${report.kills} | ${report.azuriteRestarts} | ${report.succeeded} / ${report.failed} | ${report.convergenceSeconds.toFixed(1)} | ${range(report.operationsPerSucceeded)} | ${range(report.operationsPerFailed)} | ${alerts(report)} | ${report.webhookRedeliveries} | ${report.acrRequests} | ${report.acrFaultsInjected} | ${storage(report)} | ${report.poisonMessages.length} | ${report.violations.length} |`,
  );
}
console.log(
  `\nACR requests fault-free ${baseline.acrRequests} vs faulty ${faulty.acrRequests}: ratio ${(faulty.acrRequests / baseline.acrRequests).toFixed(2)} (bound 2)`,
);
const broken = [crashes, baseline, faulty].flatMap((report) =>
  report.violations.map((violation) => `${report.name}: ${violation}`),
);
if (broken.length > 0) {
  console.log(
    `\n${broken.length} violation(s):\n${broken
      .slice(0, 50)
      .map((line) => `- ${line}`)
      .join('\n')}`,
  );
  process.exitCode = 1;
}
