const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes text for HTML content and quoted attribute values alike (the five significant characters). Every value
 * that reaches the page — names, reasons, remediation texts, numbers turned into text — goes through this.
 */
export function esc(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (char) => entities[char] ?? char);
}

/** A number for an SVG coordinate: finite, at most two decimals. */
export function n(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 100) / 100) : '0';
}
