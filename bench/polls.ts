/**
 * Tracking polls, measured: conversions run in the ACR emulator (dev/emulator) on its virtual clock, and the
 * lifecycle's own scheduling decision (`transition` with each `operation-read`) picks every next poll; the bench
 * advances the clock to it and reads the operation over the wire with the app's RegistryClient. Today's decision
 * is the lifecycle of the commit before issue #19 (bench/baseline.ts), loaded from its source tree; the new one is
 * this checkout's. Counted per conversion: polls, and how late the poll that sees `Succeeded` comes after the
 * conversion ended.
 *
 *   npx tsx bench/polls.ts [runs per case, default 20]
 *
 * Cases: conversions of 30 s, 2, 5, 15, 30 and 60 min (after the emulator's 2 s NotStarted), with progress rising
 * linearly and with progress that stalls at 20 % for the last four fifths then jumps (the emulator's
 * `progressProfile`). Each run has its own seeded jitter; today's and the new decision see the same seeds. The az
 * CLI is polled the same way with its documented loop (docs/sources.md § ACR artifact streaming API: 5 s, +1 s per
 * poll up to 21 s, back to 5 s whenever status or progress changes).
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { LifecycleContext } from '../lib/conversion/lifecycle.js';
import type * as Lifecycle from '../lib/conversion/lifecycle.js';
import type { ConversionRecord } from '../lib/conversion/record.js';
import { RegistryClient } from '../lib/registry/client.js';
import { EmulatorControlClient } from '../dev/emulator/control-client.js';
import type { ProgressProfile } from '../dev/emulator/registry/streaming-service.js';
import { startEmulator, type Emulator } from '../dev/emulator/server.js';
import { trustingHttpClient } from '../test/support/trust.js';
import { baselineLabel, baselineTree } from './baseline.js';

type Transition = typeof Lifecycle.transition;

const runs = Number(process.argv[2] ?? 20);
const lengthsSeconds = [30, 120, 300, 900, 1_800, 3_600];
const profiles: readonly ProgressProfile[] = ['linear', 'stall-then-jump'];
const startDelayMs = 2_000;
/** The app's settings (TRACKING_FIRST_POLL_SECONDS, TRACKING_MAX_POLL_SECONDS). */
const settings = { firstPollSeconds: 10, maxPollSeconds: 300, leaseSeconds: 300, quietSeconds: 600 };

interface Outcome {
  readonly polls: number;
  /** Seconds between the end of the conversion and the poll that saw it. */
  readonly lateSeconds: number;
}

interface Bench {
  readonly emulator: Emulator;
  readonly control: EmulatorControlClient;
  readonly client: RegistryClient;
}

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

let images = 0;
/** A fresh image converting with the given shape; resolves with its operation id and the virtual time it ends. */
async function startConversion(
  bench: Bench,
  lengthSeconds: number,
  profile: ProgressProfile,
): Promise<{ repository: string; digest: string; operationId: string; endsAt: number }> {
  const repository = `bench/polls${++images}`;
  const { digest } = await bench.control.seedImage('sandbox', {
    kind: 'image',
    repository,
    tag: 'v1',
    platform: 'linux/amd64',
  });
  await bench.control.setStreamingBehaviour('sandbox', repository, {
    startDelayMs,
    durationMs: lengthSeconds * 1_000,
    progressProfile: profile,
  });
  const startedAt = bench.emulator.clock.now().getTime();
  const operation = await bench.client.startStreamingConversion(repository, digest);
  return { repository, digest, operationId: operation.id, endsAt: startedAt + startDelayMs + lengthSeconds * 1_000 };
}

/** Follows one conversion with a lifecycle's decisions, as the app's tracking worker does, until it succeeds. */
async function followWithApp(
  bench: Bench,
  transition: Transition,
  lengthSeconds: number,
  profile: ProgressProfile,
  random: () => number,
): Promise<Outcome> {
  const { repository, digest, operationId, endsAt } = await startConversion(bench, lengthSeconds, profile);
  const clock = bench.emulator.clock;
  let ids = 0;
  const context = (): LifecycleContext => ({ now: clock.now(), settings, newId: () => `id-${++ids}`, random });
  // The row as the start leaves it (lifecycle `start:running`): first poll after firstPollSeconds.
  let record: ConversionRecord = {
    registry: 'sandbox',
    repository,
    digest,
    status: 'Running',
    tags: ['v1'],
    reason: 'eligible',
    source: 'event',
    operationId,
    operationStatus: 'NotStarted',
    attempts: 1,
    maxAttempts: 3,
    polls: 0,
    trackingToken: 'start',
    deadlineAt: new Date(clock.now().getTime() + 86_400_000).toISOString(),
    createdAt: clock.now().toISOString(),
    updatedAt: clock.now().toISOString(),
  };
  let delaySeconds = settings.firstPollSeconds;
  for (let polls = 1; ; polls++) {
    clock.advance(delaySeconds * 1_000);
    const operation = await bench.client.getOperation(repository, operationId);
    if (operation?.status === 'Succeeded') return { polls, lateSeconds: (clock.now().getTime() - endsAt) / 1_000 };
    const step = transition(record, { kind: 'operation-read', operation }, context());
    if (step.next === undefined || step.delaySeconds === undefined)
      throw new Error(`${repository}: the lifecycle stopped polling (${step.rule})`);
    record = step.next;
    delaySeconds = step.delaySeconds;
  }
}

/** The az CLI's wait loop (docs/sources.md): 5 s, +1 s per poll up to 21 s, back to 5 s on any change. */
async function followWithCli(bench: Bench, lengthSeconds: number, profile: ProgressProfile): Promise<Outcome> {
  const { repository, operationId, endsAt } = await startConversion(bench, lengthSeconds, profile);
  const clock = bench.emulator.clock;
  let sleepSeconds = 5;
  let last = '';
  for (let polls = 1; ; polls++) {
    clock.advance(sleepSeconds * 1_000);
    const operation = await bench.client.getOperation(repository, operationId);
    if (operation?.status === 'Succeeded') return { polls, lateSeconds: (clock.now().getTime() - endsAt) / 1_000 };
    const seen = `${operation?.status ?? ''} ${operation?.progress ?? ''}`;
    sleepSeconds = seen === last ? Math.min(21, sleepSeconds + 1) : 5;
    last = seen;
  }
}

interface Summary {
  readonly meanPolls: number;
  readonly maxPolls: number;
  readonly meanLate: number;
  readonly maxLate: number;
}

function summarize(outcomes: readonly Outcome[]): Summary {
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    meanPolls: mean(outcomes.map((outcome) => outcome.polls)),
    maxPolls: Math.max(...outcomes.map((outcome) => outcome.polls)),
    meanLate: mean(outcomes.map((outcome) => outcome.lateSeconds)),
    maxLate: Math.max(...outcomes.map((outcome) => outcome.lateSeconds)),
  };
}

async function main(): Promise<void> {
  const baseline = (await import(pathToFileURL(join(baselineTree(), 'lib/conversion/lifecycle.ts')).href)) as {
    transition: Transition;
  };
  const current = await import('../lib/conversion/lifecycle.js');
  const emulator = await startEmulator({ registries: [{ name: 'sandbox' }] });
  try {
    const registry = emulator.registry('sandbox');
    const client = new RegistryClient({
      loginServer: registry.loginServer,
      credentials: { type: 'password', username: registry.username ?? '', password: registry.password ?? '' },
      httpClient: trustingHttpClient(registry.caFile),
    });
    const bench: Bench = { emulator, control: new EmulatorControlClient(emulator.controlUrl), client };
    console.log(`\nToday = ${baselineLabel()}; ${runs} runs per case, the same seeds for both.\n`);
    console.log(
      '| progress | conversion | target: late ≤ (s) | today: polls | today: late by (s, mean / max) | new: polls | new: late by (s, mean / max) | new ÷ today polls | late met | polls met | az CLI polls | az CLI late (s) |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|:---:|:---:|---:|---:|');
    for (const profile of profiles) {
      for (const length of lengthsSeconds) {
        const today: Outcome[] = [];
        const fresh: Outcome[] = [];
        // Interleaved, so both see the same machine; the emulator's clock is virtual, so only counts matter.
        for (let run = 0; run < runs; run++) {
          today.push(await followWithApp(bench, baseline.transition, length, profile, seeded(run + 1)));
          fresh.push(await followWithApp(bench, current.transition, length, profile, seeded(run + 1)));
        }
        const cli = await followWithCli(bench, length, profile);
        const before = summarize(today);
        const after = summarize(fresh);
        const target = 0.1 * length + 15;
        const label = length < 60 ? `${length} s` : `${length / 60} min`;
        const pollsMet = fresh.every((outcome, index) => outcome.polls <= (today[index]?.polls ?? 0));
        console.log(
          `| ${profile} | ${label} | ${target.toFixed(0)} | ${before.meanPolls.toFixed(1)} | ${before.meanLate.toFixed(0)} / ${before.maxLate.toFixed(0)} | ${after.meanPolls.toFixed(1)} | ${after.meanLate.toFixed(0)} / ${after.maxLate.toFixed(0)} | ${(after.meanPolls / before.meanPolls).toFixed(2)} | ${after.maxLate <= target ? 'yes' : 'no'} | ${pollsMet ? 'yes' : 'no'} | ${cli.polls} | ${cli.lateSeconds.toFixed(0)} |`,
        );
      }
    }
  } finally {
    await emulator.close();
  }
}

await main();
