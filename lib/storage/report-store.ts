import { Readable } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import { isRestError } from '@azure/core-rest-pipeline';
import { ConflictError, ValidationError } from '../core/errors.js';
import type { ComplianceReport } from '../reports/model.js';
import type { ReportContent, ReportStore } from '../reports/ports.js';
import {
  compactTimestamp,
  parseReportId,
  reportContentTypes,
  type ReportContents,
  type ReportFormat,
  type StoredReport,
} from '../reports/stored.js';
import { reportTotals } from '../reports/summary.js';
import { registryListPattern } from '../core/registries.js';

function folderOf(scope: string, timestamp: string): string {
  return `reports/${scope}/${timestamp}`;
}

export function pathsOf(scope: string, timestamp: string): Record<ReportFormat, string> {
  const folder = folderOf(scope, timestamp);
  return {
    json: `${folder}/report.json`,
    csv: `${folder}/report.csv`,
    html: `${folder}/report.html`,
    md: `${folder}/report.md`,
  };
}

const latestName = (scope: string): string => `reports/${scope}/latest.json`;

/** Upload size of one block when streaming the CSV. */
const blockBytes = 4 * 1024 * 1024;

function status(error: unknown): number | undefined {
  return isRestError(error) ? error.statusCode : undefined;
}

/** Metadata values are HTTP headers: ASCII only. Scopes, ids and figures always are. */
function metadataOf(stored: StoredReport): Record<string, string> {
  return {
    reportid: stored.id,
    scope: stored.scope,
    generatedat: stored.generatedAt,
    registries: stored.registries.join(','),
    coverage: String(stored.coveragePercent),
    eligible: String(stored.eligible),
    streamable: String(stored.streamable),
    missing: String(stored.missing),
    failed: String(stored.failed),
  };
}

function fromMetadata(name: string, metadata: Record<string, string> | undefined): StoredReport | undefined {
  const match = /^reports\/([^/]+)\/(\d{8}T\d{9}Z)\/report\.json$/.exec(name);
  if (!match || metadata?.reportid === undefined || metadata.generatedat === undefined) return undefined;
  const [, scope, timestamp] = match as unknown as [string, string, string];
  const number = (value: string | undefined): number =>
    value === undefined || !Number.isFinite(Number(value)) ? 0 : Number(value);
  return {
    id: metadata.reportid,
    scope,
    generatedAt: metadata.generatedat,
    registries: (metadata.registries ?? '').split(',').filter((entry) => entry !== ''),
    coveragePercent: number(metadata.coverage),
    eligible: number(metadata.eligible),
    streamable: number(metadata.streamable),
    missing: number(metadata.missing),
    failed: number(metadata.failed),
    paths: pathsOf(scope, timestamp),
  };
}

/** The list's continuation token: the (timestamp, scope) of the last item handed out, base64url JSON. */
function encodeCursor(stored: StoredReport): string {
  return Buffer.from(JSON.stringify({ t: compactTimestamp(stored.generatedAt), s: stored.scope })).toString(
    'base64url',
  );
}

function decodeCursor(token: string): { t: string; s: string } {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { t?: unknown; s?: unknown };
    if (typeof value.t === 'string' && typeof value.s === 'string') return { t: value.t, s: value.s };
  } catch {
    // falls through to the 400
  }
  throw new ValidationError('The continuationToken is not one this API returned.', [
    { field: 'query.continuationToken', reason: 'not a continuation token from a previous page' },
  ]);
}

/**
 * Compliance reports in Blob Storage (`{prefix}-reports`):
 *
 * - `reports/{scope}/{timestamp}/report.{json,csv,html,md}`, each written once (If-None-Match: *; a report is
 *   never overwritten), report.json last and carrying the summary as metadata, so a listed report is complete;
 * - `reports/{scope}/latest.json`, a pointer to the newest report of the scope, replaced only by a newer report
 *   (ETag-conditional read-compare-write), so a slow run never rolls it back.
 *
 * Storage errors are translated here by status: 404 → undefined / empty, 409 on create → ConflictError.
 */
export class BlobReportStore implements ReportStore {
  private containerReady = false;

  /** The container, or how to get it: the composition root hands a getter, so the Blob SDK loads with a report. */
  constructor(private readonly container: ContainerClient | (() => Promise<ContainerClient>)) {}

  private async client(): Promise<ContainerClient> {
    return typeof this.container === 'function' ? this.container() : this.container;
  }

  /**
   * Stores every format of a report and moves the scope's latest pointer to it when it is the newest.
   * @throws ConflictError when a report of this scope and timestamp already exists.
   */
  async save(report: ComplianceReport, scope: string, contents: ReportContents): Promise<StoredReport> {
    if (!registryListPattern.test(scope))
      throw new ValidationError(`"${scope.slice(0, 100)}" is not a report scope.`, [
        { field: 'scope', reason: 'all, a registry, or registries joined by ","' },
      ]);
    const totals = reportTotals(report);
    const timestamp = compactTimestamp(report.generatedAt);
    const stored: StoredReport = {
      id: report.id,
      scope,
      generatedAt: report.generatedAt,
      registries: report.registries.map((registry) => registry.registry),
      coveragePercent: totals.coveragePercent,
      eligible: totals.eligible,
      streamable: totals.streamable,
      missing: totals.missing,
      failed: totals.failed,
      paths: pathsOf(scope, timestamp),
    };
    await this.ensureContainer();
    await this.create(stored.paths.csv, 'csv', contents.csv);
    await this.create(stored.paths.md, 'md', contents.md);
    await this.create(stored.paths.html, 'html', contents.html);
    await this.create(stored.paths.json, 'json', contents.json, metadataOf(stored));
    await this.advanceLatest(stored);
    return stored;
  }

  private async ensureContainer(): Promise<void> {
    if (this.containerReady) return;
    // Provisioned by npm start and the Bicep; created here too so a fresh account works on the first run.
    await (await this.client()).createIfNotExists();
    this.containerReady = true;
  }

  private async create(
    name: string,
    format: ReportFormat,
    content: string | AsyncIterable<string>,
    metadata?: Record<string, string>,
  ): Promise<void> {
    const blob = (await this.client()).getBlockBlobClient(name);
    const options = {
      blobHTTPHeaders: { blobContentType: reportContentTypes[format] },
      conditions: { ifNoneMatch: '*' },
      ...(metadata ? { metadata } : {}),
    };
    try {
      if (typeof content === 'string') await blob.upload(content, Buffer.byteLength(content), options);
      else await blob.uploadStream(Readable.from(content, { objectMode: false }), blockBytes, 2, options);
    } catch (error) {
      if (status(error) === 409 || status(error) === 412)
        throw new ConflictError(`The report blob ${name} already exists; reports are never overwritten.`);
      throw error;
    }
  }

  /** Points `latest.json` at the report unless a newer one is already there; true when it moved. */
  async advanceLatest(stored: StoredReport): Promise<boolean> {
    const blob = (await this.client()).getBlockBlobClient(latestName(stored.scope));
    const body = JSON.stringify(stored);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.readPointer(stored.scope);
      if (current !== undefined && current.value.generatedAt >= stored.generatedAt) return false;
      try {
        await blob.upload(body, Buffer.byteLength(body), {
          blobHTTPHeaders: { blobContentType: reportContentTypes.json },
          conditions: current === undefined ? { ifNoneMatch: '*' } : { ifMatch: current.etag },
        });
        return true;
      } catch (error) {
        // Someone else moved it meanwhile: read again and compare.
        if (status(error) !== 409 && status(error) !== 412) throw error;
      }
    }
    throw new ConflictError(`The latest pointer of ${stored.scope} kept changing; try again.`);
  }

  private async readPointer(scope: string): Promise<{ value: StoredReport; etag: string } | undefined> {
    try {
      // One GET: the body and the ETag it had, so the conditional write compares against what was read.
      const response = await (await this.client()).getBlockBlobClient(latestName(scope)).download();
      const chunks: Buffer[] = [];
      for await (const chunk of response.readableStreamBody ?? [])
        chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      return { value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as StoredReport, etag: response.etag ?? '' };
    } catch (error) {
      if (status(error) === 404) return undefined;
      throw error;
    }
  }

  /** The newest report of a scope, or undefined when there is none. */
  async latest(scope: string): Promise<StoredReport | undefined> {
    return (await this.readPointer(scope))?.value;
  }

  /** One format of the newest report of a scope; undefined when the scope has no report. */
  async readLatest(scope: string, format: ReportFormat): Promise<ReportContent | undefined> {
    const report = await this.latest(scope);
    return report === undefined ? undefined : this.content(report, format);
  }

  /**
   * One format of the report with this id, found by name (no listing): its report.json's metadata says what it
   * is, and is there only once every format was written. Undefined when there is no such report.
   */
  async read(id: string, format: ReportFormat): Promise<ReportContent | undefined> {
    const parts = parseReportId(id);
    if (parts === undefined) return undefined;
    const paths = pathsOf(parts.scope, parts.timestamp);
    let report: StoredReport | undefined;
    try {
      report = fromMetadata(
        paths.json,
        (await (await this.client()).getBlockBlobClient(paths.json).getProperties()).metadata,
      );
    } catch (error) {
      if (status(error) === 404) return undefined;
      throw error;
    }
    return report === undefined ? undefined : this.content(report, format);
  }

  private async content(report: StoredReport, format: ReportFormat): Promise<ReportContent | undefined> {
    try {
      const content = await (await this.client()).getBlockBlobClient(report.paths[format]).downloadToBuffer();
      return { report, content, contentType: reportContentTypes[format] };
    } catch (error) {
      if (status(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * Stored reports, newest first, of one scope or of all. Reports are few (one a day per scope), so a page is
   * cut from the full, sorted listing of names and metadata; no report body is read.
   */
  async list(
    filter: { scope?: string },
    page: { pageSize: number; continuationToken?: string },
  ): Promise<{ items: StoredReport[]; continuationToken?: string }> {
    const after = page.continuationToken === undefined ? undefined : decodeCursor(page.continuationToken);
    const prefix = filter.scope === undefined ? 'reports/' : `reports/${filter.scope}/`;
    const all: StoredReport[] = [];
    try {
      for await (const blob of (await this.client()).listBlobsFlat({ prefix, includeMetadata: true })) {
        if (!blob.name.endsWith('/report.json')) continue;
        const stored = fromMetadata(blob.name, blob.metadata);
        if (stored !== undefined) all.push(stored);
      }
    } catch (error) {
      if (status(error) === 404) return { items: [] };
      throw error;
    }
    const key = (stored: StoredReport): [string, string] => [compactTimestamp(stored.generatedAt), stored.scope];
    const newestFirst = (a: [string, string], b: [string, string]): number =>
      a[0] === b[0] ? b[1].localeCompare(a[1]) : a[0] < b[0] ? 1 : -1;
    all.sort((a, b) => newestFirst(key(a), key(b)));
    const remaining =
      after === undefined ? all : all.filter((stored) => newestFirst(key(stored), [after.t, after.s]) > 0);
    const items = remaining.slice(0, page.pageSize);
    const last = items[items.length - 1];
    return remaining.length > items.length && last !== undefined
      ? { items, continuationToken: encodeCursor(last) }
      : { items };
  }
}
