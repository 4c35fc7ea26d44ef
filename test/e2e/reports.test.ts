import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalog } from '../../functions/catalog.js';
import { hostKeys, SandboxHarness, type HostProcess } from '../support/sandbox-harness.js';

interface StoredView {
  id: string;
  scope: string;
  coveragePercent: number;
  paths: Record<string, string>;
  links: Record<string, string>;
  latestLinks: Record<string, string>;
}

const wired = catalog.some((declaration) => declaration.name === 'createReport');

/**
 * Compliance reports through the local host: an audit finds the sandbox's images, POST /api/reports renders and
 * stores the report, GET /api/reports/latest serves every format (HTML under its CSP), the timer function makes
 * another, `report.ready` reaches the outbox, and no configured secret appears in any stored report.
 */
describe.skipIf(!wired)('compliance reports on the sandbox', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      settings: { APP_BASE_URL: 'https://autopilot.example.test' },
    });
    for (const tag of ['v1', 'v2'])
      await sandbox.emulator.control.seedImage('sandbox', {
        kind: 'image',
        repository: 'legacy/web',
        tag,
        platform: 'linux/amd64',
        label: `legacy-${tag}`,
      });
    await sandbox.emulator.control.seedImage('sandbox', {
      kind: 'image',
      repository: 'legacy/web',
      tag: 'arm',
      platform: 'linux/arm64',
    });
    host = await sandbox.startHost({ subscribe: false });
    const started = await sandbox.api(host, '/audits', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"registry":"sandbox"}',
    });
    const { runs } = (await started.json()) as { runs: Array<{ runId: string }> };
    await waitFor(async () => {
      const { items } = (await (await sandbox.api(host, '/audits?registry=sandbox')).json()) as {
        items: Array<{ runId: string; complete: boolean }>;
      };
      return items.find((item) => item.runId === runs[0]!.runId && item.complete);
    });
  });
  afterAll(() => sandbox.close());

  async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out\n${host.output().slice(-3_000)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('generates a report on request and serves every format of the latest', async () => {
    const created = await sandbox.api(host, '/reports', { method: 'POST' });
    expect(created.status).toBe(202);
    const report = (await created.json()) as StoredView;
    expect(report).toMatchObject({
      scope: 'all',
      links: { html: `/api/reports/${report.id}?format=html` },
      latestLinks: { html: '/api/reports/latest?format=html' },
    });
    // The host routes `reports/latest` and `reports/{id}` apart (a literal segment wins), as Azure's does.
    const byId = await sandbox.api(host, `/reports/${report.id}?format=md`);
    expect(byId.status).toBe(200);
    expect(byId.headers.get('x-report-id')).toBe(report.id);

    const json = await sandbox.api(host, '/reports/latest?format=json');
    const body = (await json.json()) as {
      id: string;
      registries: Array<{ registry: string; totals: { eligible: number } }>;
    };
    expect(body.id).toBe(report.id);
    expect(body.registries.map((registry) => registry.registry)).toEqual(['sandbox']);
    expect(body.registries[0]!.totals.eligible).toBeGreaterThanOrEqual(2);

    const html = await sandbox.api(host, '/reports/latest?format=html');
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    );
    const page = await html.text();
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).not.toMatch(/<script/i);
    expect(page).toContain('legacy/web');

    const csv = await sandbox.api(host, '/reports/latest?format=csv');
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect((await csv.text()).split('\r\n')[0]).toMatch(/^registry,repository,digest,/);
    expect((await sandbox.api(host, '/reports/latest?format=md')).headers.get('content-type')).toBe(
      'text/markdown; charset=utf-8',
    );
    expect((await sandbox.api(host, '/reports/latest', { headers: { 'x-ms-client-principal': '' } })).status).toBe(401);
    expect((await fetch(`${host.url}/api/reports/latest`)).status).toBe(401);
  });

  it('issue #18 § 5: a report made right after a conversion succeeded shows it, and says when its figures are from', async () => {
    const started = await sandbox.api(host, '/registries/sandbox/conversions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repository: 'legacy/web', tag: 'v1' }),
    });
    expect(started.status, await started.clone().text()).toBe(202);
    const { digest } = (await started.json()) as { digest: string };
    await waitFor(async () => {
      const row = await sandbox.api(host, `/registries/sandbox/conversions/${digest}?repository=legacy/web`);
      return ((await row.json()) as { status: string }).status === 'Succeeded' ? true : undefined;
    }, 60_000);

    expect((await sandbox.api(host, '/reports', { method: 'POST' })).status).toBe(202);
    const latest = (await (await sandbox.api(host, '/reports/latest?format=json')).json()) as {
      registries: Array<{
        repositories: Array<{ repository: string; streamable: number }>;
        readiness: { notes: string[] };
      }>;
    };

    const sandboxReport = latest.registries[0]!;
    expect(sandboxReport.repositories.find((row) => row.repository === 'legacy/web')?.streamable).toBe(1);
    expect(sandboxReport.readiness.notes.join('\n')).toMatch(/brought up to date with \d+ conversion record/);
  });

  it('reports whether an Event Grid subscription delivers pushes to this app, read from ARM', async () => {
    type Readiness = { registries: Array<{ readiness: { eventSubscription?: boolean; notes: string[] } }> };
    const readiness = async (): Promise<Readiness['registries'][number]['readiness']> => {
      await sandbox.api(host, '/reports', { method: 'POST' });
      return ((await (await sandbox.api(host, '/reports/latest?format=json')).json()) as Readiness).registries[0]!
        .readiness;
    };

    const before = await readiness();
    await sandbox.emulator.eventGrid.createSubscription({
      name: 'app-pushes',
      endpoint: sandbox.webhook(host),
      includedEventTypes: ['Microsoft.ContainerRegistry.ImagePushed'],
    });
    await sandbox.emulator.eventGrid.whenIdle();
    const after = await readiness();

    expect(before.eventSubscription).toBe(false);
    expect(before.notes.join(' ')).toMatch(/No Event Grid subscription delivers ImagePushed/);
    expect(after.eventSubscription).toBe(true);
  });

  it('runs on its timer too, lists newest first and announces each report in the outbox', async () => {
    const before = ((await (await sandbox.api(host, '/reports')).json()) as { items: StoredView[] }).items;
    const ran = await fetch(`${host.url}/admin/functions/generateReport`, {
      method: 'POST',
      headers: { 'x-functions-key': hostKeys.master, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(ran.status).toBe(202);

    const after = await waitFor(async () => {
      const { items } = (await (await sandbox.api(host, '/reports?pageSize=10')).json()) as { items: StoredView[] };
      return items.length > before.length ? items : undefined;
    });
    expect(after[0]!.id > after[1]!.id).toBe(true);

    const outbox = TableClient.fromConnectionString(
      sandbox.settings.AzureWebJobsStorage!,
      `${sandbox.settings.STORAGE_PREFIX}Outbox`,
      { allowInsecureConnection: true },
    );
    const announcements = async () => {
      const events: Array<{ rowKey?: string; payload?: string }> = [];
      for await (const entity of outbox.listEntities<{ payload: string }>()) events.push(entity);
      return events.filter((entity) => entity.rowKey?.startsWith('report.ready.'));
    };
    // A report is listed once stored; its announcement is appended to the outbox right after, so wait for it.
    const expected = after.map((item) => `report.ready.${item.id}`).sort();
    const ready = await waitFor(async () => {
      const found = await announcements();
      return found.length >= expected.length ? found : undefined;
    });
    expect(ready.map((entity) => entity.rowKey).sort()).toEqual(expected);
    // One registry configured: the event is about it (so alerts link its portal page), not about `all`.
    const announced = JSON.parse(ready[0]!.payload!) as { facts: Record<string, string> };
    expect(announced).toMatchObject({ type: 'report.ready', registry: 'sandbox' });
    // The event links to the report it announces, which a newer one may have replaced as the latest.
    expect(announced.facts['HTML report']).toBe(
      `https://autopilot.example.test/api/reports/${announced.facts['Report id']}?format=html`,
    );
  });

  it('stores no configured secret in any report', async () => {
    const settings = sandbox.settings;
    const secrets = [
      settings.REGISTRY_SANDBOX_PASSWORD,
      settings.ALERT_SANDBOX_WEBHOOK_SECRET,
      settings.ALERT_SANDBOX_WEBHOOK_URL,
      settings.ALERT_SANDBOX_TEAMS_URL,
      settings.AZURE_CLIENT_SECRET,
      hostKeys.function,
      hostKeys.master,
      /AccountKey=([^;]+)/.exec(settings.AzureWebJobsStorage ?? '')?.[1],
    ].filter((secret): secret is string => typeof secret === 'string' && secret.length > 8);
    const container = BlobServiceClient.fromConnectionString(settings.AzureWebJobsStorage!).getContainerClient(
      `${settings.STORAGE_PREFIX}-reports`,
    );
    const blobs: string[] = [];
    for await (const blob of container.listBlobsFlat({ prefix: 'reports/' }))
      blobs.push((await container.getBlockBlobClient(blob.name).downloadToBuffer()).toString('utf8'));

    expect(secrets.length).toBeGreaterThanOrEqual(7);
    // Two reports of four formats each, and the latest pointer.
    expect(blobs.length).toBeGreaterThanOrEqual(9);
    expect(secrets.filter((secret) => blobs.some((blob) => blob.includes(secret)))).toEqual([]);
  });
});
