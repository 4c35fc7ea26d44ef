import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SandboxHarness, type HostProcess } from '../support/sandbox-harness.js';

interface InboxDelivery {
  channel: string;
  kind: 'webhook' | 'teams';
  outcome: string;
  body?: unknown;
}

interface AuditRunView {
  runId: string;
  complete: boolean;
  counters: { streamable: number; missing: number; switchChecks?: number; switchRepairs?: number };
}

interface DriftView {
  repository: string;
  policyScope: string;
  expected: boolean;
  actual: boolean;
  state: 'open' | 'closed';
  foundBy: string;
}

interface ReportView {
  registries: Array<{
    registry: string;
    drift?: DriftView[];
    repositories: Array<{ repository: string; streamable: number; missing: number }>;
  }>;
}

/**
 * Issue #15, item 2 end to end: someone turns ACR's switch off behind the app's back (the emulator's control API,
 * as the portal or `az acr artifact-streaming update` would), the next audit finds it, turns it on again and alerts
 * each channel exactly once; a second audit neither repairs nor alerts again; the report shows the drift. Item 4:
 * an image ACR converted by itself is streamable in the audit's figures, never missing.
 */
describe('native mode drift on the sandbox (issue #15)', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;
  const scope = 'team-n/**';
  const drifted = 'team-n/drifted';
  const steady = 'team-n/steady';

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      settings: {
        ALERT_RELAY_SCHEDULE: '*/5 * * * * *',
        ALERT_RELAY_GRACE_SECONDS: '1',
        // A native push waits this long for ACR's own conversion before the app converts it.
        NATIVE_PICKUP_SECONDS: '3',
      },
    });
    for (const repository of [drifted, steady])
      await sandbox.emulator.control.seedImage('sandbox', {
        kind: 'image',
        repository,
        tag: 'seed',
        platform: 'linux/amd64',
      });
    host = await sandbox.startHost();
  });
  afterAll(() => sandbox.close());

  const inbox = async (): Promise<InboxDelivery[]> =>
    (await (await fetch(`${sandbox.emulator.emulator.controlUrl}/inbox`)).json()) as InboxDelivery[];
  const driftAlerts = async (repository: string): Promise<InboxDelivery[]> =>
    (await inbox()).filter((delivery) => {
      const text = JSON.stringify(delivery.body ?? '');
      return text.includes('drift') && text.includes(repository);
    });

  /** ACR's switch for a repository of the sandbox registry, as the emulator holds it. */
  const acrSwitch = (repository: string): boolean | undefined =>
    sandbox.emulator.emulator.state.registry('sandbox')?.store.repository(repository)?.streaming.convertPushedImages;

  async function audit(): Promise<AuditRunView> {
    const started = await sandbox.api(host, '/audits', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"registry":"sandbox"}',
    });
    expect(started.status, await started.clone().text()).toBe(202);
    const { runs } = (await started.json()) as { runs: Array<{ runId: string }> };
    return sandbox.eventually(async () => {
      const { items } = (await (await sandbox.api(host, '/audits?registry=sandbox')).json()) as {
        items: AuditRunView[];
      };
      return items.find((item) => item.runId === runs[0]!.runId && item.complete);
    });
  }

  it("finds a switch turned off behind the app's back, turns it on again and alerts each channel once", async () => {
    const put = await sandbox.api(host, `/registries/sandbox/policies/${scope}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'if-none-match': '*' },
      body: JSON.stringify({ mode: 'native' }),
    });
    expect(put.status, await put.clone().text()).toBe(201);
    expect(acrSwitch(drifted)).toBe(true);
    expect(acrSwitch(steady)).toBe(true);
    // ACR converts what is pushed once its switch is on: this image is ACR's, not the app's.
    const byAcr = await sandbox.push(steady, 'v2');
    await expect
      .poll(async () => (await sandbox.emulator.control.listOperations('sandbox')).some((op) => op.digest === byAcr))
      .toBe(true);
    const byAcrOperation = (await sandbox.emulator.control.listOperations('sandbox')).find(
      (op) => op.digest === byAcr,
    )!;
    await sandbox.emulator.control.waitForOperation('sandbox', byAcrOperation.id);

    await sandbox.emulator.control.setConvertPushedImages('sandbox', drifted, false);
    const first = await audit();

    expect(acrSwitch(drifted)).toBe(true);
    expect(acrSwitch(steady)).toBe(true);
    expect(first.counters).toMatchObject({ switchChecks: 2, switchRepairs: 1 });
    const alerts = await sandbox.eventually(async () => {
      const found = await driftAlerts(drifted);
      return found.length >= 2 ? found : undefined;
    });
    expect(alerts.map((alert) => alert.channel).sort()).toEqual(['sandbox-teams', 'sandbox-webhook']);
    expect(alerts.find((alert) => alert.kind === 'webhook')!.body).toMatchObject({
      type: 'policy.drift',
      repository: drifted,
    });

    // A second audit finds ACR in line: nothing to repair, nothing to alert.
    const second = await audit();
    expect(second.counters).toMatchObject({ switchChecks: 2, switchRepairs: 0 });
    // Give a duplicate the time to show up: the relay runs every 5 s and re-sends what is 1 s overdue.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(await driftAlerts(drifted)).toHaveLength(2);
    expect(await driftAlerts(steady)).toHaveLength(0);

    // The report shows the drift, and counts the image ACR converted by itself as streamable.
    const created = await sandbox.api(host, '/reports', { method: 'POST' });
    expect(created.status).toBe(202);
    const report = (await (await sandbox.api(host, '/reports/latest?format=json')).json()) as ReportView;
    const registry = report.registries.find((entry) => entry.registry === 'sandbox')!;
    expect(registry.drift).toEqual([
      expect.objectContaining({
        repository: drifted,
        policyScope: scope,
        expected: true,
        actual: true,
        state: 'closed',
        foundBy: 'audit',
      }),
    ]);
    expect(registry.repositories.find((row) => row.repository === steady)).toMatchObject({ missing: 1 });
    expect(registry.repositories.find((row) => row.repository === steady)!.streamable).toBeGreaterThanOrEqual(1);
    const markdown = await (await sandbox.api(host, '/reports/latest?format=md')).text();
    expect(markdown).toContain(drifted);
  });

  it('a push ACR does not convert although its switch is on (it reached ACR before the switch went on) is converted by the app', async () => {
    const repository = 'late/app';
    const put = await sandbox.api(host, '/registries/sandbox/policies/late/**', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'if-none-match': '*' },
      body: JSON.stringify({ mode: 'native' }),
    });
    expect(put.status, await put.clone().text()).toBe(201);
    // The first push finds the switch off, turns it on and is the app's (issue #15, item 1).
    const first = await sandbox.push(repository, 'v1');
    await sandbox.waitForConversion(host, repository, first, (view) => view.status === 'Succeeded');
    expect(acrSwitch(repository)).toBe(true);
    // ACR starts nothing for the next push, as for one that arrived just before a policy change turned it on.
    await sandbox.emulator.control.setStreamingBehaviour('sandbox', repository, { autoConvert: 'never' });

    const second = await sandbox.push(repository, 'v2');
    const converted = await sandbox.waitForConversion(host, repository, second, (view) => view.status === 'Succeeded');

    expect(await sandbox.conversionPosts(repository, second)).toBe(1);
    const operations = await sandbox.emulator.control.listOperations('sandbox');
    expect(operations.filter((operation) => operation.digest === second)).toHaveLength(1);
    expect(converted.operationId).toBe(operations.find((operation) => operation.digest === second)!.id);
    expect(Date.parse(converted.startedAt!) - Date.parse(converted.createdAt)).toBeGreaterThanOrEqual(3_000);
  });
});
