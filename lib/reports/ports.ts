import type { ComplianceReport } from './model.js';
import type { ReportContents, ReportFormat, StoredReport } from './stored.js';

/** One stored format of a report, with what the store knows of the report. */
export interface ReportContent {
  readonly report: StoredReport;
  readonly content: Buffer;
  readonly contentType: string;
}

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
  readLatest(scope: string, format: ReportFormat): Promise<ReportContent | undefined>;
  /** One format of the report with this id (`parseReportId`); undefined when there is no such report. */
  read(id: string, format: ReportFormat): Promise<ReportContent | undefined>;
}
