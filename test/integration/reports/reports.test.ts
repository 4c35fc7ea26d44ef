import type { HttpRequest, HttpResponseInit, InvocationContext as Context } from '@azure/functions';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { toAlertEvent } from '../../../lib/alerts/events.js';
import { HttpRequest as RuntimeHttpRequest, InvocationContext } from '../../../lib/hosting/functions-runtime.js';
import { silentLogger } from '../../../lib/core/logging.js';
import { complianceReportSchema, type RegistryReport } from '../../../lib/reports/model.js';
import { serve } from '../../../lib/http/route.js';
import { reportRoutes } from '../../../lib/http/routes/reports.js';
import { ReportService } from '../../../lib/reports/service.js';
import { BlobReportStore } from '../../../lib/storage/report-store.js';
import { compactTimestamp, type StoredReport } from '../../../lib/reports/stored.js';
import { TableOutbox } from '../../../lib/storage/outbox.js';
import { storageResourceNames } from '../../../lib/storage/resources.js';
import { readerPrincipal, writerPrincipal } from '../../support/principals.js';
import { uniquePrefix } from '../../support/names.js';
import { fakeSource, registries as fixtureRegistries } from '../../unit/lib/reports/fixture.js';

/** The report routes as the function app serves them (one error mapper), bound to this test's service. */
const reportHttp = Object.fromEntries(
  (['create', 'list', 'latest', 'get'] as const).map((name) => [
    name,
    (request: HttpRequest, invocation: Context, reports: () => ReportService) =>
      serve(reportRoutes[name], () => ({ reports: reports() }))(request, invocation),
  ]),
) as Record<
  'create' | 'list' | 'latest' | 'get',
  (request: HttpRequest, invocation: Context, reports: () => ReportService) => Promise<HttpResponseInit>
>;

/**
 * The report store and service against a real Azurite: blobs, content types, conditional writes of the latest
 * pointer, paging, the outbox event, and the HTTP adapters on top — with a fake ReportDataSource (the audits').
 */
describe('compliance reports on Azurite', () => {
  const connectionString = inject('storageConnectionString');
  const prefix = uniquePrefix('r');
  const names = storageResourceNames(prefix);
  let container: ContainerClient;
  let outboxTable: TableClient;
  let now = Date.parse('2026-11-23T06:00:00.000Z');
  const clock = { now: () => new Date(now) };
  const configured = ['contosoprod', 'contosostaging', 'sandboxbasic'];
  let store: BlobReportStore;
  let outbox: TableOutbox;
  const service = (overrides: Partial<ConstructorParameters<typeof ReportService>[0]> = {}): ReportService =>
    new ReportService({
      registries: configured,
      source: fakeSource(),
      store,
      outbox,
      clock,
      version: '9.9.9',
      appBaseUrl: 'https://autopilot.example.test',
      ...overrides,
    });

  beforeAll(async () => {
    container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(names.containers.reports);
    outboxTable = TableClient.fromConnectionString(connectionString, names.tables.outbox, {
      allowInsecureConnection: true,
    });
    await outboxTable.createTable();
    store = new BlobReportStore(container);
    outbox = new TableOutbox(outboxTable);
  });
  afterAll(async () => {
    await container.deleteIfExists();
    await outboxTable.deleteTable();
  });

  const text = async (
    name: string,
  ): Promise<{ body: string; contentType: string | undefined; metadata: Record<string, string> | undefined }> => {
    const blob = container.getBlockBlobClient(name);
    const properties = await blob.getProperties();
    return {
      body: (await blob.downloadToBuffer()).toString('utf8'),
      contentType: properties.contentType,
      metadata: properties.metadata,
    };
  };

  let first: StoredReport;

  it('stores every format under reports/all/{timestamp}/ with its content type, and points latest.json at it', async () => {
    const generated = await service().generate({}, silentLogger);
    first = generated;

    expect(generated.id).toBe('20261123T060000000Z-all');
    expect(generated.paths).toEqual({
      json: 'reports/all/20261123T060000000Z/report.json',
      csv: 'reports/all/20261123T060000000Z/report.csv',
      html: 'reports/all/20261123T060000000Z/report.html',
      md: 'reports/all/20261123T060000000Z/report.md',
    });
    expect(generated.links.html).toBe('/api/reports/20261123T060000000Z-all?format=html');
    expect(generated.latestLinks.html).toBe('/api/reports/latest?format=html');
    const json = await text(generated.paths.json);
    expect(json.contentType).toBe('application/json; charset=utf-8');
    const report = complianceReportSchema.parse(JSON.parse(json.body));
    expect(report).toMatchObject({
      id: generated.id,
      generatedAt: '2026-11-23T06:00:00.000Z',
      generator: { name: 'acr-streaming-autopilot', version: '9.9.9' },
    });
    expect(report.registries.map((registry) => registry.registry)).toEqual(configured);
    expect(json.metadata).toMatchObject({ reportid: generated.id, scope: 'all', coverage: '83', eligible: '276' });
    expect((await text(generated.paths.csv)).contentType).toBe('text/csv; charset=utf-8; header=present');
    expect((await text(generated.paths.csv)).body.split('\r\n')[0]).toBe(
      'registry,repository,digest,tags,status,reason,errorCode,remediation,platforms,sizeBytes,pushedAt,checkedAt',
    );
    expect((await text(generated.paths.html)).contentType).toBe('text/html; charset=utf-8');
    expect((await text(generated.paths.md)).contentType).toBe('text/markdown; charset=utf-8');
    expect(JSON.parse((await text('reports/all/latest.json')).body)).toMatchObject({
      id: generated.id,
      paths: generated.paths,
    });
  });

  it('appends one report.ready event with the coverage summary and an API link, and the alert system reads it', async () => {
    const row = await outbox.get('all', `report.ready.${first.id}`);

    expect(row?.value).toMatchObject({ type: 'report.ready', delivery: 'pending' });
    const parsed = toAlertEvent(row!.value.payload);
    expect('event' in parsed && parsed.event).toMatchObject({
      type: 'report.ready',
      severity: 'info',
      registry: 'all',
      message:
        'Compliance report for 3 registries: 83% of eligible images streamable (229 of 276); 29 missing, 11 failed; 4 connected registries need attention.',
      facts: {
        'Report id': first.id,
        Coverage: '83%',
        Missing: '29',
        Failed: '11',
        'HTML report': `https://autopilot.example.test/api/reports/${first.id}?format=html`,
      },
    });
  });

  it('never rolls latest.json back to an older report, and keeps each scope apart', async () => {
    now = Date.parse('2026-11-24T06:00:00.000Z');
    const newer = await service().generate({}, silentLogger);
    now = Date.parse('2026-11-23T18:00:00.000Z');
    const slow = await service().generate({}, silentLogger);
    const single = await service().generate({ registries: ['contosostaging'] }, silentLogger);

    expect((await store.latest('all'))?.id).toBe(newer.id);
    expect(slow.paths.json).toBe('reports/all/20261123T180000000Z/report.json');
    expect(single).toMatchObject({
      id: '20261123T180000000Z-contosostaging',
      scope: 'contosostaging',
      registries: ['contosostaging'],
    });
    expect((await store.latest('contosostaging'))?.id).toBe(single.id);
    expect((await outbox.get('contosostaging', `report.ready.${single.id}`))?.value.type).toBe('report.ready');
  });

  it('never overwrites a stored report: the same scope and instant again is a conflict', async () => {
    await expect(service().generate({ registries: ['contosostaging'] }, silentLogger)).rejects.toMatchObject({
      status: 409,
    });
  });

  it('lets only one of two concurrent writers of the latest pointer win, and the newest stays', async () => {
    const base = { ...(await store.latest('all'))!, scope: 'contosoprod,sandboxbasic' };
    const candidates = [1, 2, 3, 4].map((day) => ({
      ...base,
      id: `x${day}`,
      generatedAt: new Date(Date.parse('2026-12-01T00:00:00.000Z') + day * 1000).toISOString(),
    }));

    await Promise.all(candidates.map((candidate) => store.advanceLatest(candidate)));

    expect((await store.latest('contosoprod,sandboxbasic'))?.id).toBe('x4');
    expect((await store.latest('all'))?.id).toBe('20261124T060000000Z-all');
  });

  it('lists reports newest first, paged, per scope or all', async () => {
    const page1 = await store.list({}, { pageSize: 2 });
    const page2 = await store.list({}, { pageSize: 2, continuationToken: page1.continuationToken! });

    expect([...page1.items, ...page2.items].map((item) => item.id)).toEqual([
      '20261124T060000000Z-all',
      '20261123T180000000Z-contosostaging',
      '20261123T180000000Z-all',
      '20261123T060000000Z-all',
    ]);
    expect(page2.continuationToken).toBeUndefined();
    expect(page1.items[0]).toMatchObject({
      scope: 'all',
      coveragePercent: 83,
      registries: configured,
      generatedAt: '2026-11-24T06:00:00.000Z',
    });
    expect((await store.list({ scope: 'contosostaging' }, { pageSize: 10 })).items.map((item) => item.id)).toEqual([
      '20261123T180000000Z-contosostaging',
    ]);
    await expect(store.list({}, { pageSize: 2, continuationToken: 'not-a-token' })).rejects.toMatchObject({
      status: 400,
    });
  });

  it('stores nothing when the data source fails or breaks the schema', async () => {
    now = Date.parse('2026-11-25T06:00:00.000Z');
    const failing = fakeSource({ contosostaging: { registry: 'contosostaging' } as unknown as RegistryReport });

    await expect(service({ source: failing }).generate({}, silentLogger)).rejects.toThrow();
    expect(
      (await store.list({}, { pageSize: 100 })).items.some((item) => item.generatedAt.startsWith('2026-11-25')),
    ).toBe(false);
  });

  it('rejects registries that are not configured (404) or not names (400)', () => {
    expect(() => service().scopeOf(['nope1'])).toThrow(expect.objectContaining({ status: 404 }) as Error);
    expect(() => service().scopeOf(['no/pe'])).toThrow(expect.objectContaining({ status: 400 }) as Error);
    expect(service().scopeOf(['sandboxbasic', 'contosoprod'])).toEqual({
      scope: 'contosoprod,sandboxbasic',
      registries: ['contosoprod', 'sandboxbasic'],
    });
    expect(service().scopeOf([...configured].reverse()).scope).toBe('all');
  });

  it('keeps secrets out of every stored format and event, whatever the configuration holds', async () => {
    const secrets = [
      connectionString.match(/AccountKey=([^;]+)/)?.[1] ?? 'missing',
      'whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw==',
      'sig=teams-workflow-signature',
    ];
    const all: string[] = [];
    for await (const blob of container.listBlobsFlat({ prefix: 'reports/' })) all.push((await text(blob.name)).body);
    for await (const entity of outboxTable.listEntities()) all.push(JSON.stringify(entity));

    expect(all.length).toBeGreaterThan(10);
    const corpus = all.join('\n');
    expect(secrets.filter((secret) => corpus.includes(secret))).toEqual([]);
    expect(corpus).not.toMatch(/AccountKey|SharedAccessSignature|[?&]sig=|whsec_/i);
  });

  describe('HTTP adapters', () => {
    const context = (): Context => new InvocationContext({ functionName: 'report-test' });
    const request = (
      method: string,
      path: string,
      principal: string | undefined,
      body?: string,
      headers: Record<string, string> = {},
    ): HttpRequest =>
      new RuntimeHttpRequest({
        method,
        url: `http://127.0.0.1/api/${path}`,
        headers: { ...(principal ? { 'x-ms-client-principal': principal } : {}), ...headers },
        ...(body === undefined ? {} : { body: { string: body } }),
      });
    const bodyText = (response: HttpResponseInit): string =>
      Buffer.isBuffer(response.body)
        ? response.body.toString('utf8')
        : JSON.stringify(response.jsonBody ?? response.body);

    it('POST /api/reports needs Streaming.Write and answers 202 with the id and links', async () => {
      now = Date.parse('2026-11-26T06:00:00.000Z');
      const reports = service();

      const denied = await reportHttp.create(request('POST', 'reports', readerPrincipal()), context(), () => reports);
      const anonymous = await reportHttp.create(request('POST', 'reports', undefined), context(), () => reports);
      const accepted = await reportHttp.create(request('POST', 'reports', writerPrincipal()), context(), () => reports);
      const one = await reportHttp.create(
        request('POST', 'reports', writerPrincipal(), JSON.stringify({ registries: ['contosoprod'] }), {
          'content-type': 'application/json',
        }),
        context(),
        () => reports,
      );
      const unknown = await reportHttp.create(
        request('POST', 'reports', writerPrincipal(), JSON.stringify({ registries: ['missing1'] }), {
          'content-type': 'application/json',
        }),
        context(),
        () => reports,
      );
      const extra = await reportHttp.create(
        request('POST', 'reports', writerPrincipal(), JSON.stringify({ registries: ['contosoprod'], url: 'x' }), {
          'content-type': 'application/json',
        }),
        context(),
        () => reports,
      );

      expect([denied.status, anonymous.status, accepted.status, one.status, unknown.status, extra.status]).toEqual([
        403, 401, 202, 202, 404, 400,
      ]);
      expect(accepted.jsonBody).toMatchObject({
        id: '20261126T060000000Z-all',
        links: {
          html: '/api/reports/20261126T060000000Z-all?format=html',
          csv: '/api/reports/20261126T060000000Z-all?format=csv',
        },
        latestLinks: { html: '/api/reports/latest?format=html', csv: '/api/reports/latest?format=csv' },
      });
      expect(accepted.headers).toMatchObject({ location: '/api/reports/20261126T060000000Z-all?format=json' });
      expect(one.jsonBody).toMatchObject({
        id: '20261126T060000000Z-contosoprod',
        links: { md: '/api/reports/20261126T060000000Z-contosoprod?format=md' },
        latestLinks: { md: '/api/reports/latest?format=md&registry=contosoprod' },
      });
    });

    it('GET /api/reports/latest serves each format with its content type; HTML with the CSP', async () => {
      const reports = service();
      const get = (query: string, principal = readerPrincipal()) =>
        reportHttp.latest(request('GET', `reports/latest${query}`, principal), context(), () => reports);

      const html = await get('?format=html');
      const csv = await get('?format=csv&registry=contosoprod');
      const json = await get('');
      const md = await get('?format=md');

      expect(html.status).toBe(200);
      expect(html.headers).toMatchObject({
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        'x-content-type-options': 'nosniff',
        'x-report-id': '20261126T060000000Z-all',
      });
      expect(bodyText(html)).toMatch(/^<!doctype html>/);
      expect(csv.headers).toMatchObject({
        'content-type': 'text/csv; charset=utf-8; header=present',
        'content-disposition': 'attachment; filename="compliance-contosoprod-20261126T060000000Z.csv"',
      });
      expect(
        bodyText(csv)
          .split('\r\n')
          .slice(1, -1)
          .every((line) => line.startsWith('contosoprod,')),
      ).toBe(true);
      expect(JSON.parse(bodyText(json))).toMatchObject({ schemaVersion: '1', id: '20261126T060000000Z-all' });
      expect(md.headers).toMatchObject({ 'content-type': 'text/markdown; charset=utf-8' });
      expect((await get('?format=pdf')).status).toBe(400);
      expect((await get('?registry=sandboxbasic')).status).toBe(404);
      expect((await get('', '')).status).toBe(401);
    });

    it('GET /api/reports lists newest first with a continuation token', async () => {
      const reports = service();

      const page = await reportHttp.list(
        request('GET', 'reports?pageSize=1', readerPrincipal()),
        context(),
        () => reports,
      );
      const next = (page.jsonBody as { continuationToken: string }).continuationToken;
      const second = await reportHttp.list(
        request('GET', `reports?pageSize=1&continuationToken=${encodeURIComponent(next)}`, readerPrincipal()),
        context(),
        () => reports,
      );
      const scoped = await reportHttp.list(
        request('GET', 'reports?registry=contosoprod', readerPrincipal()),
        context(),
        () => reports,
      );

      expect(page.status).toBe(200);
      expect((page.jsonBody as { items: StoredReport[] }).items.map((item) => item.id)).toEqual([
        '20261126T060000000Z-contosoprod',
      ]);
      expect((second.jsonBody as { items: StoredReport[] }).items.map((item) => item.id)).toEqual([
        '20261126T060000000Z-all',
      ]);
      expect((scoped.jsonBody as { items: StoredReport[] }).items.map((item) => item.scope)).toEqual(['contosoprod']);
      expect(
        (await reportHttp.list(request('GET', 'reports?pageSize=0', readerPrincipal()), context(), () => reports))
          .status,
      ).toBe(400);
    });
  });

  describe('each report has its own route (issue #18 § 5)', () => {
    const context = (): Context => new InvocationContext({ functionName: 'report-test' });
    const get = (id: string, format: string, reports: ReportService) =>
      reportHttp.get(
        new RuntimeHttpRequest({
          method: 'GET',
          url: `http://127.0.0.1/api/reports/${encodeURIComponent(id)}${format}`,
          params: { id },
          headers: { 'x-ms-client-principal': readerPrincipal() },
        }),
        context(),
        () => reports,
      );

    it('the list links to each report, and GET /api/reports/{id} serves an older one after a newer is latest', async () => {
      now = Date.parse('2026-11-28T06:00:00.000Z');
      const older = await service().generate({ registries: ['sandboxbasic'] }, silentLogger);
      now = Date.parse('2026-11-28T07:00:00.000Z');
      const newer = await service().generate({ registries: ['sandboxbasic'] }, silentLogger);
      const reports = service();

      const listed = (await reports.list(['sandboxbasic'], { pageSize: 10 })).items;
      const html = await get(older.id, '?format=html', reports);
      const json = await get(older.id, '', reports);

      expect(listed.map((item) => [item.id, item.links.html])).toEqual([
        [newer.id, `/api/reports/${newer.id}?format=html`],
        [older.id, `/api/reports/${older.id}?format=html`],
      ]);
      expect(listed[1]?.latestLinks.html).toBe('/api/reports/latest?format=html&registry=sandboxbasic');
      expect(html.status).toBe(200);
      expect(html.headers).toMatchObject({
        'content-type': 'text/html; charset=utf-8',
        'x-report-id': older.id,
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
      });
      expect(JSON.parse((json.body as Buffer).toString('utf8'))).toMatchObject({ id: older.id });
    });

    it('answers 404 for a report that does not exist and 400 for an id that cannot be one', async () => {
      const reports = service();

      expect((await get('20200101T000000000Z-sandboxbasic', '?format=md', reports)).status).toBe(404);
      expect((await get('../../secrets', '', reports)).status).toBe(400);
      expect((await get('20261128T060000000Z-sandboxbasic', '?format=pdf', reports)).status).toBe(400);
    });
  });

  it('names blobs by a timestamp that sorts like the time', () => {
    expect(compactTimestamp('2026-01-02T03:04:05.006Z')).toBe('20260102T030405006Z');
    expect(fixtureRegistries).toHaveLength(3);
  });
});
