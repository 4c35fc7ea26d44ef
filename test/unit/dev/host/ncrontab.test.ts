import { describe, expect, it } from 'vitest';
import { parseNcrontab, resolveSchedule } from '../../../../dev/host/ncrontab.js';

const at = (iso: string): Date => new Date(iso);

function nextTimes(expression: string, from: string, count: number): string[] {
  const schedule = parseNcrontab(expression);
  const times: string[] = [];
  let cursor = at(from);
  for (let i = 0; i < count; i++) {
    cursor = schedule.next(cursor);
    times.push(cursor.toISOString());
  }
  return times;
}

describe('NCRONTAB', () => {
  it('every five minutes, on the second 0', () => {
    expect(nextTimes('0 */5 * * * *', '2026-11-23T10:02:30Z', 3)).toEqual([
      '2026-11-23T10:05:00.000Z',
      '2026-11-23T10:10:00.000Z',
      '2026-11-23T10:15:00.000Z',
    ]);
  });

  it('hourly, daily at 06:00 UTC, and seconds precision', () => {
    expect(nextTimes('0 0 * * * *', '2026-11-23T10:00:00Z', 2)).toEqual([
      '2026-11-23T11:00:00.000Z',
      '2026-11-23T12:00:00.000Z',
    ]);
    expect(nextTimes('0 0 6 * * *', '2026-11-23T06:00:01Z', 1)).toEqual(['2026-11-24T06:00:00.000Z']);
    expect(nextTimes('*/15 * * * * *', '2026-11-23T10:00:01Z', 2)).toEqual([
      '2026-11-23T10:00:15.000Z',
      '2026-11-23T10:00:30.000Z',
    ]);
  });

  it('weekdays at 09:30 and month/day names', () => {
    // 2026-11-27 is a Friday; the next weekday 09:30 after Friday 10:00 is Monday 30 November.
    expect(nextTimes('0 30 9 * * 1-5', '2026-11-27T10:00:00Z', 1)).toEqual(['2026-11-30T09:30:00.000Z']);
    expect(nextTimes('0 30 9 * Jan Mon', '2026-11-23T00:00:00Z', 1)).toEqual(['2027-01-04T09:30:00.000Z']);
  });

  it('requires day-of-month AND day-of-week, as NCrontab does', () => {
    // The 13th that is a Friday: after 2026-11-23 that is 2027-08-13.
    expect(nextTimes('0 0 0 13 * 5', '2026-11-23T00:00:00Z', 1)).toEqual(['2027-08-13T00:00:00.000Z']);
  });

  it('accepts five fields with seconds at 0', () => {
    expect(nextTimes('*/10 * * * *', '2026-11-23T10:01:00Z', 1)).toEqual(['2026-11-23T10:10:00.000Z']);
  });

  it('rejects malformed expressions with the expected shape in the message', () => {
    expect(() => parseNcrontab('every hour')).toThrow(/6 fields/);
    expect(() => parseNcrontab('0 61 * * * *')).toThrow(/not NCRONTAB/);
  });

  it('resolves %SETTING% from app settings', () => {
    expect(resolveSchedule('%AUDIT_SCHEDULE%', { AUDIT_SCHEDULE: '0 0 * * * *' })).toBe('0 0 * * * *');
    expect(() => resolveSchedule('%MISSING%', {})).toThrow("'%MISSING%' does not resolve to a value.");
  });
});
