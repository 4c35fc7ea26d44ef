import type { Clock } from '../core/clock.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import { registryReportSchema, reportSchemaVersion, type ComplianceReport, type ReportDataSource } from './model.js';
import { allScope, compactTimestamp, parseReportId, type ReportFormat, type StoredReport } from './stored.js';
import type { ReportContent, ReportStore } from './ports.js';
import { formatPercent } from './render/text.js';
import { reportTotals } from './summary.js';
import { registryNamePattern } from '../core/registries.js';

/**
 * `report.ready`, as the outbox carries it to the alert channels (lib/alerts/events.ts reads it loosely): no URL
 * with a secret in it, only this app's own route under APP_BASE_URL, which needs a key and an identity to open.
 */
export interface ReportReadyEvent {
  /** `report.ready.{report id}`: generating the event twice for one report stores it once. */
  readonly id: string;
  readonly type: 'report.ready';
  readonly time: string;
  /** The registry of a single-registry report, else `all`. */
  readonly registry: string;
  readonly message: string;
  readonly facts: Readonly<Record<string, string>>;
}

/** Where report events go: the app's transactional outbox (idempotent by event id). */
export interface ReportEventOutbox {
  append(event: ReportReadyEvent): Promise<void>;
}

export interface ReportServiceDependencies {
  /** The configured registries (REGISTRIES), in configuration order. */
  readonly registries: readonly string[];
  readonly source: ReportDataSource;
  readonly store: ReportStore;
  readonly outbox: ReportEventOutbox;
  readonly clock: Clock;
  /** The app's version, recorded in every report. */
  readonly version: string;
  /**
   * APP_BASE_URL without a trailing slash, for the link in the `report.ready` event and the HTML's diagnosis links
   * (root-relative without it).
   */
  readonly appBaseUrl?: string;
  /** The configured alert channels and whether they run (a missing secret disables one); none when absent. */
  readonly alertChannels?: ComplianceReport['alertChannels'];
}

/** What a generation run returns (and POST /api/reports answers, and GET /api/reports lists). */
export interface GeneratedReport extends StoredReport {
  /** API routes serving this very report, one per format (relative to the host): `GET /api/reports/{id}`. */
  readonly links: Readonly<Record<ReportFormat, string>>;
  /** API routes serving the newest report of this scope, which may be a later one. */
  readonly latestLinks: Readonly<Record<ReportFormat, string>>;
}

/**
 * Compliance reports: builds the {@link ComplianceReport} from the audits' {@link ReportDataSource}, renders it
 * (JSON, CSV, HTML, Markdown), stores it and tells the alert channels through a `report.ready` outbox event.
 */
export class ReportService {
  constructor(private readonly deps: ReportServiceDependencies) {}

  /**
   * The scope a request names: `all` (nothing, `all`, or every configured registry), one registry, or several
   * joined by `,` in configuration order.
   * @throws NotFoundError naming a registry that is not configured; ValidationError for a malformed name.
   */
  scopeOf(
    registries: readonly string[] | undefined,
    field = 'body.registries',
  ): { scope: string; registries: string[] } {
    const configured = this.deps.registries;
    if (registries === undefined || registries.length === 0 || (registries.length === 1 && registries[0] === allScope))
      return { scope: allScope, registries: [...configured] };
    for (const [index, name] of registries.entries()) {
      if (!registryNamePattern.test(name))
        throw new ValidationError(`"${name.slice(0, 60)}" is not a registry name.`, [
          { field: `${field}.${index}`, reason: 'letters and digits, 2 to 50' },
        ]);
      if (!configured.includes(name))
        throw new NotFoundError(`Registry ${name} is not configured.`, [
          { field: `${field}.${index}`, reason: 'not in REGISTRIES' },
        ]);
    }
    const chosen = configured.filter((name) => registries.includes(name));
    if (chosen.length === configured.length) return { scope: allScope, registries: chosen };
    return { scope: chosen.join(','), registries: chosen };
  }

  /**
   * Generates, stores and announces one report of the given registries (all configured ones by default).
   * @throws when the data source fails for a registry (nothing is stored then) or storage fails.
   */
  async generate(
    request: { registries?: readonly string[]; requestedBy?: string },
    log: Logger,
  ): Promise<GeneratedReport> {
    const { scope, registries } = this.scopeOf(request.registries);
    const generatedAt = this.deps.clock.now().toISOString();
    const id = `${compactTimestamp(generatedAt)}-${scope}`;
    const registryReports = [];
    for (const registry of registries) {
      // The contract is enforced here: a source that drifts from schema v1 fails the run instead of the readers.
      registryReports.push(registryReportSchema.parse(await this.deps.source.registryReport(registry)));
    }
    const report: ComplianceReport = {
      schemaVersion: reportSchemaVersion,
      id,
      generatedAt,
      generator: { name: 'acr-streaming-autopilot', version: this.deps.version },
      ...(request.requestedBy === undefined ? {} : { requestedBy: request.requestedBy }),
      registries: registryReports,
      alertChannels: [...(this.deps.alertChannels ?? [])],
    };
    // The renderers are imported when a report is made, not when the app loads (issue #19 §1).
    const [{ toCsv }, { toHtml }, { toJson }, { toMarkdown }] = await Promise.all([
      import('./render/csv.js'),
      import('./render/html.js'),
      import('./render/json.js'),
      import('./render/markdown.js'),
    ]);
    const stored = await this.deps.store.save(report, scope, {
      json: toJson(report),
      html: toHtml(report, this.deps.appBaseUrl ? { appBaseUrl: this.deps.appBaseUrl } : {}),
      md: toMarkdown(report),
      csv: toCsv(this.deps.source, registries),
    });
    const totals = reportTotals(report);
    await this.deps.outbox.append(this.readyEvent(report, stored));
    log.info(
      `report ${id} (${scope}): coverage ${formatPercent(totals.coveragePercent)} (${totals.streamable}/${totals.eligible}), ${totals.missing} missing, ${totals.failed} failed, ` +
        `${totals.connectedNeedingAttention} connected registr${totals.connectedNeedingAttention === 1 ? 'y needs' : 'ies need'} attention; stored under reports/${scope}/`,
    );
    return withLinks(stored);
  }

  private readyEvent(report: ComplianceReport, stored: StoredReport): ReportReadyEvent {
    const totals = reportTotals(report);
    const subject =
      stored.scope === allScope
        ? `${totals.registries} registr${totals.registries === 1 ? 'y' : 'ies'}`
        : stored.registries.join(', ');
    const attention =
      totals.connectedNeedingAttention > 0
        ? `; ${totals.connectedNeedingAttention} connected registr${totals.connectedNeedingAttention === 1 ? 'y needs' : 'ies need'} attention`
        : '';
    // This report, not the latest: by the time someone reads the alert a newer one may be the latest.
    const link = this.deps.appBaseUrl === undefined ? undefined : `${this.deps.appBaseUrl}${linksOf(stored.id).html}`;
    return {
      id: `report.ready.${report.id}`,
      type: 'report.ready',
      time: report.generatedAt,
      registry: stored.registries.length === 1 && stored.registries[0] !== undefined ? stored.registries[0] : allScope,
      message:
        `Compliance report for ${subject}: ${formatPercent(totals.coveragePercent)} of eligible images streamable (${totals.streamable} of ${totals.eligible}); ` +
        `${totals.missing} missing, ${totals.failed} failed${attention}.`,
      facts: {
        'Report id': report.id,
        Registries: stored.registries.join(', ') || 'none',
        Coverage: formatPercent(totals.coveragePercent),
        Missing: String(totals.missing),
        Failed: String(totals.failed),
        'In progress': String(totals.inProgress),
        'Connected registries needing attention': String(totals.connectedNeedingAttention),
        ...(link === undefined ? {} : { 'HTML report': link }),
      },
    };
  }

  /** Stored reports, newest first; of one scope when `registries` names one. */
  async list(
    registries: readonly string[] | undefined,
    page: { pageSize: number; continuationToken?: string },
  ): Promise<{ items: GeneratedReport[]; continuationToken?: string }> {
    const filter = registries === undefined ? {} : { scope: this.scopeOf(registries, 'query.registry').scope };
    const result = await this.deps.store.list(filter, page);
    return {
      items: result.items.map(withLinks),
      ...(result.continuationToken ? { continuationToken: result.continuationToken } : {}),
    };
  }

  /**
   * The newest report of a scope in one format.
   * @throws NotFoundError when the scope has no report yet.
   */
  async latest(registries: readonly string[] | undefined, format: ReportFormat): Promise<ReportContent> {
    const { scope } = this.scopeOf(registries, 'query.registry');
    const found = await this.deps.store.readLatest(scope, format);
    if (found === undefined) throw new NotFoundError(`No report of ${scope} yet: POST /api/reports generates one.`);
    return found;
  }

  /**
   * One stored report in one format, by the id the list and `report.ready` give.
   * @throws ValidationError for a string that cannot be a report id; NotFoundError when there is no such report.
   */
  async report(id: string, format: ReportFormat): Promise<ReportContent> {
    if (parseReportId(id) === undefined)
      throw new ValidationError(`"${id.slice(0, 60)}" is not a report id.`, [
        { field: 'params.id', reason: '{timestamp}-{scope}, e.g. 20261123T060000000Z-all' },
      ]);
    const found = await this.deps.store.read(id, format);
    if (found === undefined) throw new NotFoundError(`No report ${id}: GET /api/reports lists the stored ones.`);
    return found;
  }
}

function withLinks(stored: StoredReport): GeneratedReport {
  return { ...stored, links: linksOf(stored.id), latestLinks: latestLinksOf(stored.scope) };
}

/** The routes serving one report, by id. */
export function linksOf(id: string): Record<ReportFormat, string> {
  const route = `/api/reports/${encodeURIComponent(id)}`;
  return {
    json: `${route}?format=json`,
    csv: `${route}?format=csv`,
    html: `${route}?format=html`,
    md: `${route}?format=md`,
  };
}

/** The routes serving the newest report of a scope. */
export function latestLinksOf(scope: string): Record<ReportFormat, string> {
  const registry = scope === allScope ? '' : `&registry=${encodeURIComponent(scope)}`;
  return {
    json: `/api/reports/latest?format=json${registry}`,
    csv: `/api/reports/latest?format=csv${registry}`,
    html: `/api/reports/latest?format=html${registry}`,
    md: `/api/reports/latest?format=md${registry}`,
  };
}
