import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { UnsupportedMediaTypeError } from '../../core/errors.js';
import { registryListPattern } from '../../core/registries.js';
import { z } from '../../core/zod.js';
import { reportContentSecurityPolicy } from '../../reports/render/html.js';
import type { ReportService } from '../../reports/service.js';
import { compactTimestamp, reportFormats, type ReportFormat } from '../../reports/stored.js';
import type { ReportContent } from '../../reports/ports.js';
import { requirePrincipal } from '../principal.js';
import { registrySelectionBody, selectedRegistries } from './registry-selection.js';
import { parseJsonBody, parseParts, queryObject } from '../request.js';
import type { HttpRoute } from '../route.js';

export interface ReportRouteDependencies {
  readonly reports: ReportService;
}

/** POST /api/reports: an empty body (or none) reports every configured registry. */
export const createReportBody = registrySelectionBody;

const registryQuery = z
  .string()
  .regex(registryListPattern, '`all`, a registry, or registries separated by ","')
  .optional()
  .openapi({ description: '`all` (default: every configured registry), a registry, or several separated by ","' });

export const listReportsQuery = z
  .object({
    registry: registryQuery,
    pageSize: z.coerce.number().int().min(1).max(100).default(20),
    continuationToken: z.string().max(1_024).optional(),
  })
  .strict();

export const latestReportQuery = z
  .object({
    format: z.enum(reportFormats).default('json').openapi({
      description: 'json (the schema), csv (one row per image), html (self-contained page) or md (summary)',
    }),
    registry: registryQuery,
  })
  .strict();

/** `GET /api/reports/{id}?format=`: one stored report (the list's and `report.ready`'s links). */
export const reportFormatQuery = latestReportQuery.pick({ format: true }).strict();
export const reportIdParams = z
  .object({ id: z.string().max(1_200).openapi({ description: '{timestamp}-{scope}, from GET /api/reports' }) })
  .strict();

const formatRecord = z.object({ json: z.string(), csv: z.string(), html: z.string(), md: z.string() });

/** The answer of POST /api/reports and an item of GET /api/reports (GeneratedReport), for the OpenAPI document. */
export const generatedReportSchema = z
  .object({
    id: z.string().openapi({ description: '{timestamp}-{scope}, e.g. 20261123T060000000Z-all' }),
    scope: z.string().openapi({ description: '`all`, a registry, or registries joined by ","' }),
    generatedAt: z.string(),
    registries: z.array(z.string()),
    coveragePercent: z.number(),
    eligible: z.number().int(),
    streamable: z.number().int(),
    missing: z.number().int(),
    failed: z.number().int(),
    paths: formatRecord.openapi({ description: 'blob names in the {prefix}-reports container' }),
    links: formatRecord.openapi({ description: 'routes serving this report (GET /api/reports/{id})' }),
    latestLinks: formatRecord.openapi({ description: 'routes serving the newest report of this scope' }),
  })
  .openapi('StoredReport');

const split = (registry: string | undefined): string[] | undefined => registry?.split(',');

async function optionalJsonBody(request: HttpRequest): Promise<z.infer<typeof createReportBody>> {
  if (request.headers.get('content-type')) return parseJsonBody(request, createReportBody);
  const text = await request.text();
  if (text.trim() !== '')
    throw new UnsupportedMediaTypeError('Send the body as application/json.', [
      { field: 'headers.content-type', reason: 'must be application/json' },
    ]);
  return {};
}

type ReportRoute = HttpRoute<ReportRouteDependencies>;

/** Compliance reports: generate one now, list them, serve the newest or any stored one in any format. */
export const reportRoutes = {
  create: (async (request, context, { reports }) => {
    const principal = requirePrincipal(request, 'Streaming.Write');
    const selected = selectedRegistries(await optionalJsonBody(request));
    context.info(`report requested by ${principal.id}`);
    const generated = await reports.generate(
      { ...(selected === undefined ? {} : { registries: selected }), requestedBy: principal.id },
      context,
    );
    return { status: 202, headers: { location: generated.links.json }, jsonBody: generated };
  }) satisfies ReportRoute,

  list: (async (request, _context, { reports }) => {
    requirePrincipal(request, 'Streaming.Read');
    const query = parseParts(queryObject(request), listReportsQuery, 'query');
    return {
      status: 200,
      jsonBody: await reports.list(split(query.registry), {
        pageSize: query.pageSize,
        ...(query.continuationToken ? { continuationToken: query.continuationToken } : {}),
      }),
    };
  }) satisfies ReportRoute,

  latest: (async (request, _context, { reports }) => {
    requirePrincipal(request, 'Streaming.Read');
    const query = parseParts(queryObject(request), latestReportQuery, 'query');
    return served(await reports.latest(split(query.registry), query.format), query.format);
  }) satisfies ReportRoute,

  /** `GET reports/{id}?format=`: any stored report, not only the newest (the list links to each). */
  get: (async (request, _context, { reports }) => {
    requirePrincipal(request, 'Streaming.Read');
    const { id } = parseParts(request.params, reportIdParams, 'params');
    const query = parseParts(queryObject(request), reportFormatQuery, 'query');
    return served(await reports.report(id, query.format), query.format);
  }) satisfies ReportRoute,
};

function served({ report, content, contentType }: ReportContent, format: ReportFormat): HttpResponseInit {
  const headers: Record<string, string> = {
    'content-type': contentType,
    'x-content-type-options': 'nosniff',
    'cache-control': 'private, no-store',
    'x-report-id': report.id,
    'last-modified': new Date(report.generatedAt).toUTCString(),
  };
  // The page is inert by construction; the policy makes sure a browser treats it so even if it were not.
  if (format === 'html') headers['content-security-policy'] = reportContentSecurityPolicy;
  if (format === 'csv' || format === 'md')
    headers['content-disposition'] =
      `attachment; filename="compliance-${report.scope.replace(/,/g, '_')}-${compactTimestamp(report.generatedAt)}.${format}"`;
  return { status: 200, headers, body: content };
}
