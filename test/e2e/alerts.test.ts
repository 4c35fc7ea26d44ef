import { TableServiceClient, TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hostKeys, SandboxHarness, settled, type HostProcess } from '../support/sandbox-harness.js';

interface InboxDelivery {
  channel: string;
  kind: 'webhook' | 'teams';
  outcome: string;
  verified?: boolean;
  webhookId?: string;
  body?: unknown;
}

/**
 * Alerts end to end on the sandbox: a conversion that fails reaches each routed channel exactly once, through the
 * outbox, the queue-triggered sender and the emulator's inbox, which verifies every webhook signature. Then a scan
 * of everything the run left behind — logs, tables, API answers, delivered alerts — for the configured secrets.
 */
describe('alerts on the sandbox', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      settings: {
        DEFAULT_POLICY: JSON.stringify({ mode: 'onPush', retry: { maxAttempts: 1 } }),
        ALERT_RELAY_SCHEDULE: '*/5 * * * * *',
        // A relay that wrongly took a delivered alert for a lost one would re-send it within the wait below.
        ALERT_RELAY_GRACE_SECONDS: '1',
      },
    });
    host = await sandbox.startHost();
  });
  afterAll(() => sandbox.close());

  const inbox = async (): Promise<InboxDelivery[]> =>
    (await (await fetch(`${sandbox.emulator.emulator.controlUrl}/inbox`)).json()) as InboxDelivery[];

  /** Alerts arrive asynchronously in another process; wait for a condition on the inbox, bounded. */
  async function waitForInbox(
    done: (deliveries: InboxDelivery[]) => boolean,
    timeoutMs = 30_000,
  ): Promise<InboxDelivery[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const deliveries = await inbox();
      if (done(deliveries)) return deliveries;
      if (Date.now() > deadline)
        throw new Error(
          `inbox never satisfied the condition: ${JSON.stringify(deliveries).slice(0, 2_000)}\n${host.output().slice(-4_000)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('delivers exactly one signed webhook and one Teams card for a failed conversion', async () => {
    await sandbox.emulator.control.setStreamingBehaviour('sandbox', 'alerts/flaky', { outcome: 'UnknownError' });
    const digest = await sandbox.push('alerts/flaky', 'v1');
    const view = await sandbox.waitForConversion(host, 'alerts/flaky', digest, settled);
    expect(view).toMatchObject({ status: 'Failed', lastErrorCode: 'UNKNOWN_ERROR' });

    const about = (delivery: InboxDelivery): boolean =>
      JSON.stringify(delivery.body ?? '').includes(digest.slice(7, 19));
    const deliveries = await waitForInbox((all) => all.filter(about).length >= 2);
    // Give a duplicate a chance to show up: the relay runs every 5 s and re-sends what is 1 s overdue.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const final = (await inbox()).filter(about);

    const webhooks = final.filter((delivery) => delivery.kind === 'webhook');
    const cards = final.filter((delivery) => delivery.kind === 'teams');
    expect(deliveries.length).toBeGreaterThanOrEqual(2);
    expect(webhooks).toHaveLength(1);
    expect(webhooks[0]).toMatchObject({ outcome: 'delivered', verified: true });
    expect(webhooks[0]!.body).toMatchObject({
      schemaVersion: '1',
      type: 'conversion.failed',
      repository: 'alerts/flaky',
      digest,
      errorCode: 'UNKNOWN_ERROR',
      operationId: view.operationId,
    });
    expect(cards).toHaveLength(1);
    expect(JSON.stringify(cards[0]!.body)).toContain(view.operationId!);
    const listed = (await (await sandbox.api(host, '/alerts?status=delivered')).json()) as {
      items: Array<{ channel: string }>;
    };
    expect(listed.items.map((item) => item.channel).sort()).toEqual(
      expect.arrayContaining(['sandbox-teams', 'sandbox-webhook']),
    );
  });

  it('leaves no configured secret in logs, tables, API answers or alerts', async () => {
    const settings = sandbox.settings;
    const secrets = Object.entries({
      'registry password': settings.REGISTRY_SANDBOX_PASSWORD,
      'webhook signing secret': settings.ALERT_SANDBOX_WEBHOOK_SECRET,
      'webhook URL': settings.ALERT_SANDBOX_WEBHOOK_URL,
      'Teams URL': settings.ALERT_SANDBOX_TEAMS_URL,
      'Entra client secret': settings.AZURE_CLIENT_SECRET,
      'function key': hostKeys.function,
      'master key': hostKeys.master,
      'Event Grid key': hostKeys.eventGrid,
      'storage account key': /AccountKey=([^;]+)/.exec(settings.AzureWebJobsStorage ?? '')?.[1],
    }).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1].length > 8);
    expect(secrets.map(([name]) => name)).toHaveLength(9);

    const tables: string[] = [];
    const service = TableServiceClient.fromConnectionString(settings.AzureWebJobsStorage!, {
      allowInsecureConnection: true,
    });
    for await (const table of service.listTables()) {
      if (!table.name?.startsWith(settings.STORAGE_PREFIX!)) continue;
      for await (const entity of TableClient.fromConnectionString(settings.AzureWebJobsStorage!, table.name, {
        allowInsecureConnection: true,
      }).listEntities())
        tables.push(JSON.stringify(entity));
    }
    const api: string[] = [];
    for (const path of [
      '/health',
      '/health/details',
      '/openapi.json',
      '/registries/sandbox/conversions',
      '/registries/sandbox/policies',
      '/alerts',
      '/alerts?status=failed',
    ])
      api.push(await (await sandbox.api(host, path)).text());
    const corpus = {
      logs: host.output(),
      tables: tables.join('\n'),
      api: api.join('\n'),
      alerts: JSON.stringify(await inbox()),
    };

    expect(tables.length).toBeGreaterThan(3);
    const leaks = secrets.flatMap(([name, value]) =>
      Object.entries(corpus)
        .filter(([, text]) => text.includes(value))
        .map(([where]) => `${name} in ${where}`),
    );
    expect(leaks).toEqual([]);
  });
});
