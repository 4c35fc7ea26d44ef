import type { Timer } from '@azure/functions';
import type { ContainerClient } from '@azure/storage-blob';
import type { TimerFunction } from '../../lib/hosting/catalog.js';
import { describe, type HostLogSink, type InvocationRunner } from './invocation.js';
import { parseNcrontab, type NcrontabSchedule } from './ncrontab.js';

/** The host's record of a timer, at `timers/{hostId}/{function}/status` in the `azure-webjobs-hosts` container. */
interface ScheduleStatus {
  Last: string;
  Next: string;
  LastUpdated: string;
}

export interface TimerSchedulerOptions {
  readonly hostId: string;
  readonly statusContainer: ContainerClient;
  readonly runner: InvocationRunner;
  readonly log: HostLogSink;
  readonly now?: () => Date;
}

export interface RunningTimer {
  stop(): void;
  /** Runs the function now (admin invoke), with `isPastDue: false`. */
  invokeNow(): Promise<void>;
}

/** Longest single setTimeout Node accepts; longer waits re-arm. */
const maxTimeoutMs = 2 ** 31 - 1;
/** A run that starts later than this after its scheduled time is reported `isPastDue`. */
const pastDueToleranceMs = 1_000;

/**
 * Schedules one timer function. The schedule status is kept in blob storage like the real host's, so a run
 * missed while the host was down fires once at start-up with `isPastDue: true`.
 */
export async function startTimer(
  declaration: TimerFunction,
  expression: string,
  options: TimerSchedulerOptions,
): Promise<RunningTimer> {
  const schedule = parseNcrontab(expression);
  const now = options.now ?? (() => new Date());
  const blob = options.statusContainer.getBlockBlobClient(
    `timers/${options.hostId}/${declaration.name.toLowerCase()}/status`,
  );
  let handle: NodeJS.Timeout | undefined;
  let stopped = false;
  let status = await readStatus(blob);

  const run = async (isPastDue: boolean, scheduled: Date | undefined): Promise<void> => {
    const next = schedule.next(now());
    const timer: Timer = {
      isPastDue,
      schedule: { adjustForDST: true },
      scheduleStatus: {
        last: status?.Last ?? new Date(0).toISOString(),
        next: next.toISOString(),
        lastUpdated: status?.LastUpdated ?? new Date(0).toISOString(),
      },
    };
    try {
      await options.runner.invoke(declaration.name, 'timerTrigger', { timer }, (context) =>
        declaration.handler(timer, context),
      );
    } catch (error) {
      options.log({
        time: now().toISOString(),
        level: 'error',
        category: `Host.Timer.${declaration.name}`,
        message: `run failed: ${describe(error)}`,
      });
    }
    status = { Last: (scheduled ?? now()).toISOString(), Next: next.toISOString(), LastUpdated: now().toISOString() };
    await writeStatus(blob, status).catch(() => undefined);
  };

  const arm = (): void => {
    if (stopped) return;
    const due = schedule.next(now());
    const wait = Math.max(0, due.getTime() - now().getTime());
    handle = setTimeout(
      () => {
        if (wait > maxTimeoutMs || now() < due) return arm();
        const late = now().getTime() - due.getTime() > pastDueToleranceMs;
        void run(late, due).finally(arm);
      },
      Math.min(wait, maxTimeoutMs),
    );
  };

  if (status !== undefined && new Date(status.Next) < now()) {
    await run(true, new Date(status.Next));
  } else if (declaration.trigger.runOnStartup === true) {
    await run(false, undefined);
  } else if (status === undefined) {
    status = {
      Last: new Date(0).toISOString(),
      Next: schedule.next(now()).toISOString(),
      LastUpdated: now().toISOString(),
    };
    await writeStatus(blob, status).catch(() => undefined);
  }
  arm();
  return {
    stop() {
      stopped = true;
      if (handle) clearTimeout(handle);
    },
    invokeNow: () => run(false, undefined),
  };
}

async function readStatus(
  blob: ReturnType<ContainerClient['getBlockBlobClient']>,
): Promise<ScheduleStatus | undefined> {
  try {
    const content = await blob.downloadToBuffer();
    return JSON.parse(content.toString('utf8')) as ScheduleStatus;
  } catch {
    return undefined;
  }
}

async function writeStatus(
  blob: ReturnType<ContainerClient['getBlockBlobClient']>,
  status: ScheduleStatus,
): Promise<void> {
  const body = JSON.stringify(status);
  await blob.upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' } });
}

export type { NcrontabSchedule };
