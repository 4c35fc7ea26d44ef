import type { ImageFinding, ReportDataSource } from '../model.js';

/** The CSV columns, in order; docs/reports.md describes each. */
export const csvColumns = [
  'registry',
  'repository',
  'digest',
  'tags',
  'status',
  'reason',
  'errorCode',
  'remediation',
  'platforms',
  'sizeBytes',
  'pushedAt',
  'checkedAt',
] as const;

/** Rows are yielded in chunks of about this many characters, so a large registry is not one write per row. */
const chunkChars = 64 * 1024;

/**
 * One CSV cell (RFC 4180): quoted when it holds a quote, comma, CR or LF, quotes doubled. A text cell starting
 * with `=`, `+`, `-`, `@`, tab or CR gets a leading apostrophe, so a spreadsheet never evaluates it as a formula
 * (OWASP "CSV injection"); a repository or reason text comes from registry users and must stay inert.
 */
export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  let text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One finding as a CSV record, CRLF-terminated. Tags are separated by spaces (a tag never contains one). */
export function csvRow(finding: ImageFinding): string {
  const cells = [
    finding.registry,
    finding.repository,
    finding.digest,
    finding.tags.join(' '),
    finding.status,
    finding.reason,
    finding.errorCode,
    finding.remediation,
    finding.platforms,
    finding.sizeBytes,
    finding.pushedAt,
    finding.checkedAt,
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/**
 * The findings of the given registries as CSV: a header row, then one row per image finding, in the order the
 * source yields them. Streams: memory stays bounded whatever the registry's size.
 */
export async function* toCsv(
  source: Pick<ReportDataSource, 'findings'>,
  registries: readonly string[],
): AsyncGenerator<string, void, undefined> {
  let buffer = `${csvColumns.join(',')}\r\n`;
  for (const registry of registries) {
    for await (const finding of source.findings(registry)) {
      buffer += csvRow(finding);
      if (buffer.length >= chunkChars) {
        yield buffer;
        buffer = '';
      }
    }
  }
  yield buffer;
}
