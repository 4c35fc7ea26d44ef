import { registryListPattern } from '../core/registries.js';

export const reportFormats = ['json', 'csv', 'html', 'md'] as const;
export type ReportFormat = (typeof reportFormats)[number];

/** Content types of the stored blobs and of the HTTP answers serving them. */
export const reportContentTypes: Record<ReportFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
  html: 'text/html; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
};

/** The scope of a report of every configured registry. Registry names are letters and digits, so no clash. */
export const allScope = 'all';

/** What the store knows of one stored report: enough to list it and to serve any of its formats. */
export interface StoredReport {
  readonly id: string;
  readonly scope: string;
  readonly generatedAt: string;
  readonly registries: readonly string[];
  readonly coveragePercent: number;
  readonly eligible: number;
  readonly streamable: number;
  readonly missing: number;
  readonly failed: number;
  /** Blob names in the reports container, per format. */
  readonly paths: Readonly<Record<ReportFormat, string>>;
}

/** The rendered report; the CSV streams, so a registry of any size never sits in memory at once. */
export interface ReportContents {
  readonly json: string;
  readonly html: string;
  readonly md: string;
  readonly csv: AsyncIterable<string>;
}

/** `2026-11-23T06:00:00.000Z` → `20261123T060000000Z`: sorts like the time and is safe in blob names and ids. */
export function compactTimestamp(iso: string): string {
  return new Date(iso).toISOString().replace(/[-:.]/g, '');
}

/**
 * A report id, `{compact timestamp}-{scope}` (`20261123T060000000Z-contosoprod`), split into the parts its blobs
 * are named by; undefined for anything else, so no id can name a blob outside its report's folder.
 */
export function parseReportId(id: string): { timestamp: string; scope: string } | undefined {
  const match = /^(\d{8}T\d{9}Z)-(.+)$/.exec(id);
  if (match === null || !registryListPattern.test(match[2]!)) return undefined;
  return { timestamp: match[1]!, scope: match[2]! };
}
