import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { InvocationContext as Context, LogLevel, TriggerMetadata } from '@azure/functions';
import { InvocationContext } from '../../lib/hosting/functions-runtime.js';

export interface HostLogEntry {
  readonly time: string;
  readonly level: LogLevel;
  readonly category: string;
  readonly invocationId?: string;
  readonly message: string;
}

export type HostLogSink = (entry: HostLogEntry) => void;

/** One line per entry, like `func start`'s console: time, level, category, message. */
export const consoleLogSink: HostLogSink = (entry) => {
  const line = `[${entry.time}] ${entry.level.padEnd(11)} ${entry.category}${entry.invocationId ? ` (${entry.invocationId.slice(0, 8)})` : ''}: ${entry.message}`;
  (entry.level === 'error' || entry.level === 'critical' ? process.stderr : process.stdout).write(`${line}\n`);
};

export interface InvocationOutcome {
  readonly functionName: string;
  readonly invocationId: string;
  readonly trigger: string;
  readonly succeeded: boolean;
  readonly error?: unknown;
  readonly durationMs: number;
  readonly result?: unknown;
}

/**
 * Runs handlers the way the worker does: a fresh InvocationContext per call, its log lines routed to the host's
 * sink, and every invocation tracked so shutdown can wait for the ones in flight. Emits `invocation` with an
 * {@link InvocationOutcome} after each call, and queue listeners emit `messageSettled` once a message is deleted,
 * released for retry or poisoned; tests await these instead of sleeping.
 */
export interface MessageSettled {
  readonly functionName: string;
  readonly messageId: string;
  readonly disposition: 'deleted' | 'retry' | 'poisoned';
}

export class InvocationRunner extends EventEmitter<{
  invocation: [InvocationOutcome];
  messageSettled: [MessageSettled];
}> {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly log: HostLogSink) {
    super();
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  async invoke<T>(
    functionName: string,
    trigger: string,
    triggerMetadata: TriggerMetadata,
    call: (context: Context) => Promise<T> | T,
  ): Promise<T> {
    const invocationId = randomUUID();
    const context = new InvocationContext({
      invocationId,
      functionName,
      triggerMetadata,
      logHandler: (level, ...args) =>
        this.log({
          time: new Date().toISOString(),
          level,
          category: `Function.${functionName}`,
          invocationId,
          message: formatArgs(args),
        }),
    });
    const started = performance.now();
    const run = (async () => call(context))();
    this.inFlight.add(run);
    try {
      const result = await run;
      this.emit('invocation', {
        functionName,
        invocationId,
        trigger,
        succeeded: true,
        durationMs: performance.now() - started,
        result,
      });
      return result;
    } catch (error) {
      this.log({
        time: new Date().toISOString(),
        level: 'error',
        category: `Function.${functionName}`,
        invocationId,
        message: `Executed with error: ${describe(error)}`,
      });
      this.emit('invocation', {
        functionName,
        invocationId,
        trigger,
        succeeded: false,
        error,
        durationMs: performance.now() - started,
      });
      throw error;
    } finally {
      this.inFlight.delete(run);
    }
  }

  /** Resolves when every invocation started before the call has finished (successfully or not). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}

function formatArgs(args: readonly unknown[]): string {
  return args
    .map((arg) => (typeof arg === 'string' ? arg : arg instanceof Error ? (arg.stack ?? arg.message) : safeJson(arg)))
    .join(' ');
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
