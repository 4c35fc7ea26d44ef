import type { InvocationContext, Timer } from '@azure/functions';
import type { TimerFunction } from '../lib/hosting/catalog.js';
import { appDependencies } from '../lib/hosting/lazy.js';

/** The scheduled compliance report of every configured registry (REPORT_SCHEDULE, default daily 06:00 UTC). */
async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  const report = await (await appDependencies()).reports.generate({}, context);
  context.info(`report ${report.id} stored: ${report.paths.html}`);
}

export const generateReport: TimerFunction = {
  name: 'generateReport',
  trigger: { type: 'timer', schedule: '%REPORT_SCHEDULE%' },
  handler,
};
