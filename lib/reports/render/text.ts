/** Formatting shared by the renderers: fixed English output, UTC, no locale surprises between hosts. */

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** `2026-11-23 06:00 UTC`; the input unchanged when it is not a date. */
export function formatTime(iso: string | undefined): string {
  if (iso === undefined) return '—';
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return iso;
  return `${time.toISOString().slice(0, 10)} ${time.toISOString().slice(11, 16)} UTC`;
}

/** `Nov 23`, for axis labels. */
export function formatShortDate(iso: string): string {
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return iso.slice(0, 10);
  return `${months[time.getUTCMonth()] ?? ''} ${time.getUTCDate()}`;
}

/** A switch's value as the reports write it. */
export const onOff = (value: boolean): string => (value ? 'on' : 'off');

export function formatInteger(value: number): string {
  return integer.format(value);
}

/** `87.5%` (one decimal, dropped when zero: `100%`). */
export function formatPercent(value: number): string {
  const rounded = Math.round(value * 10) / 10;
  return `${Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1)}%`;
}

/** Shortens to at most `max` characters with an ellipsis in the middle, keeping both ends readable. */
export function ellipsize(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const head = Math.ceil((max - 1) * 0.6);
  const tail = max - 1 - head;
  return `${chars.slice(0, head).join('')}…${tail > 0 ? chars.slice(-tail).join('') : ''}`;
}
