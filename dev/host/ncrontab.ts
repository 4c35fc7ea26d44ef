import { Cron } from 'croner';

/**
 * NCRONTAB as the Functions timer trigger reads it: `{second} {minute} {hour} {day} {month} {day-of-week}` (five
 * fields also accepted, seconds then 0), evaluated in UTC (WEBSITE_TIME_ZONE unset), names like `Jan`/`Mon`
 * allowed, and — as in the NCrontab library the host uses — day-of-month and day-of-week must BOTH match.
 */
export interface NcrontabSchedule {
  readonly expression: string;
  next(after: Date): Date;
}

export function parseNcrontab(expression: string): NcrontabSchedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new Error(
      `"${expression}" is not NCRONTAB: expected 6 fields {second} {minute} {hour} {day} {month} {day-of-week}`,
    );
  }
  let cron: Cron;
  try {
    cron = new Cron(fields.join(' '), {
      paused: true,
      timezone: 'UTC',
      domAndDow: true,
      mode: fields.length === 6 ? '6-part' : '5-part',
    });
  } catch (error) {
    throw new Error(`"${expression}" is not NCRONTAB: ${(error as Error).message}`);
  }
  return {
    expression,
    next(after) {
      const next = cron.nextRun(after);
      if (next === null) throw new Error(`"${expression}" never fires after ${after.toISOString()}`);
      return next;
    },
  };
}

/**
 * Binding expressions as the host resolves them: every `%SETTING%` in a trigger property (a schedule, a queue
 * name) is replaced by that app setting's value; a missing (or empty) one throws the host's own words, "'%X%' does
 * not resolve to a value." (azure-functions-host, src/Microsoft.Azure.WebJobs.Host/NameResolverExtensions.cs).
 */
export function resolveBindingExpression(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(/%([^%]+)%/g, (_match, name: string) => {
    const value = env[name];
    if (value === undefined || value.trim() === '') throw new Error(`'%${name}%' does not resolve to a value.`);
    return value;
  });
}

export function resolveSchedule(schedule: string, env: Readonly<Record<string, string | undefined>>): string {
  return resolveBindingExpression(schedule, env);
}
