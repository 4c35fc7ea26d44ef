import type { InvocationContext, Timer } from '@azure/functions';
import type { TimerFunction } from '../lib/hosting/catalog.js';
import { appDependencies } from '../lib/hosting/lazy.js';
import { emitHealthSnapshot } from '../lib/telemetry/snapshot.js';

/**
 * Safety net: re-drives conversions whose tracking message or worker was lost; then a health snapshot (queue depths,
 * ACR retries).
 */
async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  const { conversions, storage, names, acrRetries } = await appDependencies();
  const redriven = await conversions.sweep(context);
  context.info(`sweeper: ${redriven} conversion(s) re-driven`);
  const queues = Object.values(names.queues).flatMap((queue) => [
    storage.queue(queue),
    storage.queue(`${queue}-poison`),
  ]);
  await emitHealthSnapshot(queues, acrRetries, context);
}

export const sweepConversions: TimerFunction = {
  name: 'sweepConversions',
  trigger: { type: 'timer', schedule: '%SWEEPER_SCHEDULE%' },
  handler,
};
