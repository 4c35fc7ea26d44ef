import { describe, expect, it } from 'vitest';
import { formatTable, palette, relativeTime, renderProblem, shortDigest, useColor } from '../../../cli/format.js';

describe('formatTable', () => {
  const columns = [
    { header: 'NAME', value: (row: { name: string; count: number }) => row.name },
    { header: 'COUNT', value: (row: { name: string; count: number }) => String(row.count), align: 'right' as const },
    { header: 'NOTE', value: () => 'x' },
  ];

  it('aligns every column to its widest cell, right-aligns numbers and leaves no trailing blanks', () => {
    const text = formatTable(columns, [
      { name: 'team-a/app', count: 7 },
      { name: 'b', count: 1234 },
    ]);

    expect(text).toBe(['NAME        COUNT  NOTE', 'team-a/app      7  x', 'b            1234  x'].join('\n'));
  });

  it('measures coloured cells by what shows, so they line up with plain ones', () => {
    const style = palette(true);
    const text = formatTable(
      [
        { header: 'S', value: (row: string) => style.red(row) },
        { header: 'NOTE', value: () => 'x' },
      ],
      ['Failed', 'ok'],
    );

    // eslint-disable-next-line no-control-regex -- the ANSI escapes are what the test removes
    const lines = text.split('\n').map((line) => line.replace(/\u001b\[[0-9;]*m/g, ''));
    expect(lines).toEqual(['S       NOTE', 'Failed  x', 'ok      x']);
  });

  it('prints only the header for no rows', () => {
    expect(formatTable(columns, [])).toBe('NAME  COUNT  NOTE');
  });
});

describe('relativeTime', () => {
  const now = new Date('2025-06-01T12:00:00Z');

  it.each([
    ['2025-06-01T12:00:00.400Z', 'just now'],
    ['2025-06-01T11:59:48Z', '12 s ago'],
    ['2025-06-01T11:55:00Z', '5 min ago'],
    ['2025-06-01T09:00:00Z', '3 h ago'],
    ['2025-05-28T12:00:00Z', '4 d ago'],
    ['2025-06-01T12:00:30Z', 'in 30 s'],
    ['2025-03-01T12:00:00Z', '2025-03-01'],
    ['not a time', 'not a time'],
    [undefined, '-'],
  ])('%s → %s', (iso, expected) => {
    expect(relativeTime(iso, now)).toBe(expected);
  });
});

describe('renderProblem', () => {
  it('puts the status, title and detail on one line and each field error below', () => {
    const text = renderProblem(
      400,
      {
        title: 'Bad Request',
        detail: 'The body is invalid.',
        errors: [
          { field: 'body.mode', reason: 'expected one of off, onPush, native' },
          { field: 'body.tags.include', reason: 'too many wildcards' },
        ],
      },
      'fallback',
      palette(false),
    );

    expect(text).toBe(
      [
        'error: 400 Bad Request: The body is invalid.',
        '  body.mode: expected one of off, onPush, native',
        '  body.tags.include: too many wildcards',
      ].join('\n'),
    );
  });

  it('says what was asked when the answer was not problem+json', () => {
    expect(renderProblem(502, undefined, 'GET /alerts answered 502', palette(false))).toBe(
      'error: 502: GET /alerts answered 502',
    );
  });
});

describe('useColor', () => {
  it('colours a terminal only, unless NO_COLOR or FORCE_COLOR says otherwise', () => {
    expect(useColor(true, {})).toBe(true);
    expect(useColor(false, {})).toBe(false);
    expect(useColor(true, { NO_COLOR: '1' })).toBe(false);
    expect(useColor(false, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColor(true, { FORCE_COLOR: '0' })).toBe(true);
  });
});

it('shortDigest keeps sha256: and 12 hex digits', () => {
  expect(shortDigest(`sha256:${'ab'.repeat(32)}`)).toBe('sha256:abababababab');
});
