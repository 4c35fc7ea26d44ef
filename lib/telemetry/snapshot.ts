import type { QueueClient } from '@azure/storage-queue';
import type { Logger } from '../core/logging.js';
import { logMetrics } from '../core/metrics.js';

/** Counts ACR retries per registry and status (429 = throttling) between two snapshots. */
export class RetryCounters {
  private readonly counts = new Map<string, number>();

  record(registry: string, status: number): void {
    const key = `${registry}|${status}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  drain(): Array<{ registry: string; status: number; count: number }> {
    const drained = [...this.counts].map(([key, count]) => {
      const [registry = '', status = '0'] = key.split('|');
      return { registry, status: Number(status), count };
    });
    this.counts.clear();
    return drained;
  }
}

/**
 * A periodic health snapshot (the sweeper runs it): the depth of every queue and poison queue, and ACR retries by
 * status since the last snapshot — `acr.retry` with status 429 is ACR throttling this app.
 */
export async function emitHealthSnapshot(
  queues: readonly QueueClient[],
  retries: RetryCounters,
  log: Logger,
): Promise<void> {
  const metrics = logMetrics(log);
  await Promise.all(
    queues.map(async (queue) => {
      try {
        const { approximateMessagesCount } = await queue.getProperties();
        metrics.observe('queue.depth', approximateMessagesCount ?? 0, {
          queue: queue.name,
          poison: queue.name.endsWith('-poison') ? 'true' : 'false',
        });
      } catch (error) {
        log.warn(
          `queue ${queue.name}: depth unavailable (${error instanceof Error ? error.message.slice(0, 120) : String(error)})`,
        );
      }
    }),
  );
  for (const { registry, status, count } of retries.drain()) metrics.count('acr.retry', { registry, status }, count);
}
