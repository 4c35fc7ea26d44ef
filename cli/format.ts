import type { Problem } from './errors.js';

/** ANSI styles; identity functions when colour is off, so callers never branch on it. */
export interface Palette {
  readonly bold: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly red: (text: string) => string;
  readonly green: (text: string) => string;
  readonly yellow: (text: string) => string;
}

const ansi =
  (open: number, close: number) =>
  (text: string): string =>
    `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string): string => text;

export function palette(color: boolean): Palette {
  return color
    ? { bold: ansi(1, 22), dim: ansi(2, 22), red: ansi(31, 39), green: ansi(32, 39), yellow: ansi(33, 39) }
    : { bold: plain, dim: plain, red: plain, green: plain, yellow: plain };
}

/**
 * Colour only for a terminal, as most tools do: NO_COLOR (https://no-color.org) turns it off, FORCE_COLOR on.
 */
export function useColor(isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return isTTY;
}

// eslint-disable-next-line no-control-regex -- ANSI escape sequences are what this removes
const escapes = /\u001b\[[0-9;]*m/g;
const visibleWidth = (text: string): number => text.replace(escapes, '').length;

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  /** Numbers read better right-aligned. */
  readonly align?: 'left' | 'right';
}

/**
 * Aligned columns separated by two spaces, header first; the last column is not padded (no trailing blanks).
 * Widths ignore colour codes, so styled cells line up too.
 */
export function formatTable<T>(
  columns: readonly Column<T>[],
  rows: readonly T[],
  style: Palette = palette(false),
): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...cells.map((line) => visibleWidth(line[index] ?? ''))),
  );
  const render = (line: readonly string[]): string =>
    line
      .map((cell, index) => {
        const pad = ' '.repeat((widths[index] ?? 0) - visibleWidth(cell));
        if (columns[index]?.align === 'right') return pad + cell;
        return index === line.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return [style.bold(render(columns.map((column) => column.header))), ...cells.map(render)].join('\n');
}

const units: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400],
  ['h', 3_600],
  ['min', 60],
  ['s', 1],
];

/**
 * "12 s ago", "5 min ago", "3 h ago", "4 d ago" (or "in …" for the future), "just now" under a second; older than
 * 30 days the date itself, which says more than a large number. An unparsable input comes back as it is.
 */
export function relativeTime(iso: string | undefined, now: Date): string {
  if (iso === undefined || iso === '') return '-';
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  const seconds = Math.round((now.getTime() - time) / 1_000);
  const magnitude = Math.abs(seconds);
  if (magnitude < 1) return 'just now';
  if (magnitude > 30 * 86_400) return new Date(time).toISOString().slice(0, 10);
  const [unit, size] = units.find(([, length]) => magnitude >= length) ?? ['s', 1];
  const count = `${Math.floor(magnitude / size)} ${unit}`;
  return seconds > 0 ? `${count} ago` : `in ${count}`;
}

/** "sha256:0123456789ab" — enough to tell images apart in a table. */
export function shortDigest(digest: string): string {
  return digest.startsWith('sha256:') ? digest.slice(0, 19) : digest;
}

/**
 * The problem as a person reads it: status and detail on the first line, then one line per field error. Never a
 * stack: the API's detail already says what was wrong.
 */
export function renderProblem(status: number, problem: Problem | undefined, fallback: string, style: Palette): string {
  const title = problem?.title ? ` ${problem.title}` : '';
  const lines = [`${style.red(`error: ${status}${title}`)}: ${problem?.detail ?? fallback}`];
  for (const error of problem?.errors ?? []) lines.push(`  ${style.bold(error.field)}: ${error.reason}`);
  return lines.join('\n');
}

/** A status with the colour that says good, bad or under way. */
export function statusText(status: string, style: Palette): string {
  if (['Succeeded', 'delivered', 'applied', 'ok'].includes(status)) return style.green(status);
  if (['Failed', 'TimedOut', 'failed', 'forbidden', 'precondition-failed', 'conflict'].includes(status))
    return style.red(status);
  if (['Pending', 'Running', 'pending'].includes(status)) return style.yellow(status);
  return status;
}
