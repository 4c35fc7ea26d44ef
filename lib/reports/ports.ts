import type { ComplianceReport } from './model.js';
import type { ReportContents, ReportFormat, StoredReport } from './stored.js';

/**
 * Where reports are kept (lib/storage/report-store.ts implements it over Blob Storage). A report is written once
 * and never overwritten; the newest of a scope is what `readLatest` serves.
 */
export interface ReportStore {
  /** Stores every format of a report and advances the scope's newest-report pointer. */
  save(report: ComplianceReport, scope: string, contents: ReportContents): Promise<StoredReport>;
  /** Newest first. */
  list(
    filter: { scope?: string },
    page: { pageSize: number; continuationToken?: string },
  ): Promise<{ items: StoredReport[]; continuationToken?: string }>;
  readLatest(
    scope: string,
    format: ReportFormat,
  ): Promise<{ report: StoredReport; content: Buffer; contentType: string } | undefined>;
}
