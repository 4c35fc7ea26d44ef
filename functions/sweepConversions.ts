import type { InvocationContext, Timer } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { TimerFunction } from '../lib/hosting/catalog.js';

/** Safety net: re-drives conversions whose tracking message or worker was lost. */
async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  const redriven = await getDependencies().conversions.sweep(context);
  context.info(`sweeper: ${redriven} conversion(s) re-driven`);
}

export const sweepConversions: TimerFunction = { name: 'sweepConversions', trigger: { type: 'timer', schedule: '%SWEEPER_SCHEDULE%' }, handler };
