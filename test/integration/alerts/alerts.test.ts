import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import * as AdaptiveCards from 'adaptivecards';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ensureCertificateAuthority, issueServerCertificate } from '../../../dev/emulator/tls.js';
import { httpSender } from '../../../lib/http/alert-sender.js';
import type { AlertStore } from '../../../lib/alerts/ports.js';
import type { AlertSender } from '../../../lib/alerts/sender.js';
import { AlertService, type AlertMessage } from '../../../lib/alerts/service.js';
import { type AlertSettings, type ChannelSettings } from '../../../lib/alerts/settings.js';
import { TableAlertStore } from '../../../lib/storage/alert-store.js';
import type { DomainEvent } from '../../../lib/core/outbox.js';
import { configPolicySource } from '../../../lib/policy/config-source.js';
import { policySchema } from '../../../lib/policy/model.js';
import { TableOutbox } from '../../../lib/storage/outbox.js';
import { silentLogger } from '../../../lib/core/logging.js';
import { uniquePrefix } from '../../support/names.js';

const secret = `whsec_${Buffer.from('a-test-signing-secret-of-32-bytes!').toString('base64')}`;

interface Received {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A real HTTPS receiver whose answers a test scripts: a status per request, or "down" (socket destroyed). */
class Receiver {
  readonly received: Received[] = [];
  script: Array<number | 'down' | { status: number; retryAfter: number }> = [];
  private server!: Server;
  url = '';

  async start(dir: string): Promise<string> {
    const ca = await ensureCertificateAuthority(dir);
    const tls = issueServerCertificate(ca);
    this.server = createServer({ key: tls.keyPem, cert: tls.certPem }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const step = this.script.shift() ?? 204;
        if (step === 'down') {
          request.socket.destroy();
          return;
        }
        this.received.push({
          path: request.url ?? '',
          headers: request.headers as Record<string, string>,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        if (typeof step === 'number') response.writeHead(step).end();
        else response.writeHead(step.status, { 'retry-after': String(step.retryAfter) }).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `https://localhost:${(this.server.address() as AddressInfo).port}`;
    return ca.certPem;
  }

  /** Deliveries to a path that a receiver keeping webhook-ids would accept once each. */
  unique(path: string): Received[] {
    const seen = new Set<string>();
    return this.received.filter(
      (request) =>
        request.path === path &&
        !seen.has(request.headers['webhook-id'] ?? request.body) &&
        seen.add(request.headers['webhook-id'] ?? request.body),
    );
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('alert delivery (real Azurite, real HTTPS receiver)', () => {
  const receiver = new Receiver();
  let ca = '';
  // Near wall time: receivers check the signed timestamp against their own clock (5 minutes' tolerance).
  let clockMs = Date.now();
  const clock = { now: () => new Date(clockMs) };

  beforeAll(async () => {
    ca = await receiver.start(mkdtempSync(join(tmpdir(), 'alerts-ca-')));
  });
  afterAll(() => receiver.close());

  /** A service over fresh tables, with the queue recorded so the test runs it against the manual clock. */
  async function setup(
    overrides: Partial<AlertSettings> = {},
    channelOverrides: Partial<ChannelSettings> = {},
    wrapSender: (sender: AlertSender) => AlertSender = (sender) => sender,
    wrapStore: (store: AlertStore) => AlertStore = (store) => store,
  ) {
    const prefix = uniquePrefix('al');
    const connection = inject('storageConnectionString');
    const tables = [`${prefix}Outbox`, `${prefix}Alerts`].map((name) =>
      TableClient.fromConnectionString(connection, name, { allowInsecureConnection: true }),
    );
    await Promise.all(tables.map((table) => table.createTable()));
    const queue: Array<{ message: AlertMessage; dueMs: number }> = [];
    const alertQueue = {
      send: (message: AlertMessage, delaySeconds: number) =>
        Promise.resolve(void queue.push({ message, dueMs: clockMs + delaySeconds * 1000 })),
    };
    const outbox = new TableOutbox(tables[0]!, (registry, eventId) =>
      alertQueue.send({ kind: 'dispatch', registry, eventId }, 0),
    );
    const channels: ChannelSettings[] = [
      {
        name: 'hook',
        kind: 'webhook',
        urlSetting: 'HOOK_URL',
        secretSetting: 'HOOK_SECRET',
        minSeverity: 'warning',
        ratePerMinute: 6_000,
        ...channelOverrides,
      },
      { name: 'teams', kind: 'teams', urlSetting: 'TEAMS_URL', minSeverity: 'warning', ratePerMinute: 6_000 },
    ];
    const service = new AlertService({
      settings: {
        channels,
        channelSecrets: new Map([
          ['hook', { url: `${receiver.url}/hook`, secret }],
          ['teams', { url: `${receiver.url}/teams` }],
        ]),
        disabledChannels: new Map(),
        dryRun: false,
        maxAttempts: 8,
        dedupWindowSeconds: 3_600,
        burstWindowSeconds: 300,
        burstThreshold: 3,
        ...overrides,
      },
      outbox,
      store: wrapStore(new TableAlertStore(tables[1]!)),
      queue: alertQueue,
      sender: wrapSender(httpSender({ ca, timeoutMs: 2_000 })),
      policies: configPolicySource(policySchema.parse({ mode: 'onPush' })),
      links: () => ({
        registryResourceId:
          '/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/sandbox',
        appBaseUrl: 'https://app.example.test',
      }),
      clock,
      random: () => 0.5,
    });
    /** Runs every queued message that is due, as the queue trigger would, advancing the clock to each. */
    const pump = async (untilMs = clockMs): Promise<void> => {
      for (;;) {
        queue.sort((a, b) => a.dueMs - b.dueMs);
        const next = queue[0];
        if (next === undefined || next.dueMs > untilMs) break;
        queue.shift();
        clockMs = Math.max(clockMs, next.dueMs);
        await service.handle(next.message, silentLogger);
      }
      clockMs = Math.max(clockMs, untilMs);
    };
    return { service, outbox, queue, pump, store: new TableAlertStore(tables[1]!) };
  }

  let sequence = 0;
  const failure = (overrides: Partial<DomainEvent> = {}): DomainEvent => {
    sequence++;
    return {
      id: `conversion.failed:team-a:app@sha256:${String(sequence).padStart(64, '0')}:1`,
      type: 'conversion.failed',
      time: new Date(clockMs).toISOString(),
      registry: 'sandbox',
      repository: 'team-a/app',
      digest: `sha256:${String(sequence).padStart(64, '0')}`,
      tag: 'v1',
      operationId: 'op-123',
      status: 'Failed',
      errorCode: 'UNKNOWN_ERROR',
      message: 'Conversion operation failed due to an unknown error',
      remediation: 'Quote operation id op-123 to Azure support.',
      attempts: 3,
      ...overrides,
    };
  };

  it('sends one signed webhook and one Teams card per failure; signatures verify and tampering is caught', async () => {
    receiver.received.length = 0;
    const { outbox, pump } = await setup();

    await outbox.append(failure());
    await pump();

    const [hook] = receiver.received.filter((request) => request.path === '/hook');
    const [teams] = receiver.received.filter((request) => request.path === '/teams');
    expect(receiver.received).toHaveLength(2);
    const verified = new Webhook(secret).verify(hook!.body, hook!.headers) as {
      type: string;
      id: string;
      errorCode: string;
      remediation: string;
      links: unknown[];
    };
    expect(verified).toMatchObject({
      type: 'conversion.failed',
      id: hook!.headers['webhook-id'],
      errorCode: 'UNKNOWN_ERROR',
    });
    expect(verified.remediation).toContain('op-123');
    expect(verified.links).toHaveLength(2);
    expect(() =>
      new Webhook(secret).verify(hook!.body.replace('UNKNOWN_ERROR', 'NOTHING_WRONG'), hook!.headers),
    ).toThrow();
    const card = (JSON.parse(teams!.body) as { attachments: Array<{ content: { version: string } }> }).attachments[0]!
      .content;
    expect(card.version).toBe('1.4');
    expect(Buffer.byteLength(teams!.body)).toBeLessThan(28 * 1024);
    const context = new AdaptiveCards.SerializationContext();
    new AdaptiveCards.AdaptiveCard().parse(card, context);
    expect(context.eventCount).toBe(0);
  });

  describe('claimed before sent (issue #14, scenario 7)', () => {
    /** Runs the dispatch only: the deliveries exist and their deliver messages wait in the queue. */
    async function dispatched(
      wrapSender?: (sender: AlertSender) => AlertSender,
      wrapStore?: (store: AlertStore) => AlertStore,
    ) {
      const context = await setup({}, {}, wrapSender, wrapStore);
      await context.outbox.append(failure());
      const dispatch = context.queue.shift()!;
      await context.service.handle(dispatch.message, silentLogger);
      const teams = context.queue.find(
        (entry) => entry.message.kind === 'deliver' && entry.message.channel === 'teams',
      )!;
      context.queue.splice(context.queue.indexOf(teams), 1);
      return { ...context, teams: teams.message };
    }

    /** A sender whose calls wait until the test lets them go on. */
    function gated(): { wrap: (sender: AlertSender) => AlertSender; calls: () => number; release: () => void } {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let calls = 0;
      return {
        wrap: (sender) => ({
          send: (request) => {
            calls++;
            return gate.then(() => sender.send(request));
          },
        }),
        calls: () => calls,
        release: () => release(),
      };
    }

    it('sends a Teams card once when two workers take the same deliver message at once', async () => {
      receiver.received.length = 0;
      const { service, teams } = await dispatched();

      await Promise.all([service.handle(teams, silentLogger), service.handle(teams, silentLogger)]);

      expect(receiver.received.filter((request) => request.path === '/teams')).toHaveLength(1);
    });

    it('does not let the relay re-drive a delivery while it is being sent', async () => {
      receiver.received.length = 0;
      const sender = gated();
      const { service, teams, pump, store } = await dispatched(sender.wrap);

      const sending = service.handle(teams, silentLogger);
      await vi.waitFor(() => expect(sender.calls()).toBe(1));
      clockMs += 1_000;
      const relayed = await service.relay(silentLogger, 0);
      sender.release();
      await sending;
      await pump(clockMs + 3_600_000);

      expect(relayed.redriven).toBe(1); // the webhook delivery, still waiting in the queue; not the Teams card
      expect(receiver.received.filter((request) => request.path === '/teams')).toHaveLength(1);
      const [delivery] = (await store.listDeliveries({ channel: 'teams' }, { pageSize: 10 })).items;
      expect(delivery).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(delivery).not.toHaveProperty('leaseUntil');
    });

    it('recognises its own claim when storage applied it but the answer was lost, and sends at once', async () => {
      receiver.received.length = 0;
      let lost = 0;
      const { service, teams, store } = await dispatched(undefined, (inner) => ({
        ...bound(inner),
        // The write lands, its answer does not: the SDK's retry then meets our own ETag (412).
        replaceDelivery: async (delivery, etag) => {
          const written = await inner.replaceDelivery(delivery, etag);
          return delivery.status === 'sending' && lost++ === 0 ? undefined : written;
        },
      }));

      await service.handle(teams, silentLogger);

      expect(lost).toBe(1);
      expect(receiver.received.filter((request) => request.path === '/teams')).toHaveLength(1);
      expect((await store.listDeliveries({ channel: 'teams' }, { pageSize: 10 })).items[0]).toMatchObject({
        status: 'delivered',
      });
    });

    it('takes back a claim whose sender died once its lease runs out, and sends it', async () => {
      receiver.received.length = 0;
      let calls = 0;
      const { service, teams, pump, store } = await dispatched((sender) => ({
        // The first sender never returns: the host died during the call, before it reached Teams.
        send: (request) => (++calls === 1 ? new Promise(() => undefined) : sender.send(request)),
      }));

      const teamsDelivery = async () => (await store.listDeliveries({ channel: 'teams' }, { pageSize: 10 })).items[0];
      void service.handle(teams, silentLogger);
      await vi.waitFor(() => expect(calls).toBe(1));
      await service.relay(silentLogger, 0);
      const whileLive = await teamsDelivery();
      clockMs += 61_000;
      await service.relay(silentLogger, 0);
      const afterLapse = await teamsDelivery();
      await pump(clockMs + 3_600_000);

      expect(whileLive).toMatchObject({ status: 'sending' });
      expect(afterLapse).toMatchObject({ status: 'pending' });
      expect(receiver.received.filter((request) => request.path === '/teams')).toHaveLength(1);
      expect(await teamsDelivery()).toMatchObject({ status: 'delivered', attempts: 1 });
    });
  });

  it('keeps retrying while the receiver is down for five minutes, then delivers each alert exactly once', async () => {
    receiver.received.length = 0;
    const { outbox, pump, service } = await setup({}, {});
    receiver.script = Array.from({ length: 12 }, () => 'down' as const);

    await outbox.append(failure());
    await outbox.append(failure());
    await pump(clockMs + 5 * 60_000);
    receiver.script = [];
    await pump(clockMs + 60 * 60_000);

    expect(receiver.unique('/hook')).toHaveLength(2);
    expect(receiver.unique('/teams')).toHaveLength(2);
    const delivered = await service.list({ status: 'delivered' }, { pageSize: 100 });
    expect(delivered.items).toHaveLength(4);
  });

  it('waits as long as a 429 Retry-After asks', async () => {
    receiver.received.length = 0;
    const { outbox, queue, pump } = await setup();
    receiver.script = [{ status: 429, retryAfter: 120 }];

    await outbox.append(failure({ type: 'conversion.timedOut' }));
    const before = clockMs;
    await pump(before);

    const retry = queue.find((entry) => entry.message.kind === 'deliver');
    expect(retry?.dueMs).toBe(before + 120_000);
    await pump(before + 119_000);
    expect(receiver.received).toHaveLength(2); // the throttled attempt and the other channel
    await pump(before + 120_000);
    expect(receiver.received).toHaveLength(3);
  });

  it('collapses a burst of 100 failures into at most one summary per channel, listing or linking every one', async () => {
    receiver.received.length = 0;
    const { outbox, pump } = await setup();

    for (let index = 0; index < 100; index++) await outbox.append(failure());
    await pump(clockMs + 10 * 60_000);

    const hooks = receiver.received
      .filter((request) => request.path === '/hook')
      .map((request) => JSON.parse(request.body) as { type: string; events?: unknown[]; omitted?: number });
    const summaries = hooks.filter((body) => body.type === 'alerts.summary');
    expect(hooks.length - summaries.length).toBe(3);
    expect(summaries).toHaveLength(1);
    expect((summaries[0]!.events?.length ?? 0) + (summaries[0]!.omitted ?? 0)).toBe(97);
    expect(receiver.received.filter((request) => request.path === '/teams')).toHaveLength(4);
  });

  it('drops a duplicate of the same event about the same image inside the dedup window', async () => {
    receiver.received.length = 0;
    const { outbox, pump } = await setup();
    const first = failure();

    await outbox.append(first);
    await outbox.append({ ...first, id: `${first.id}-again` });
    await pump();

    expect(receiver.received.filter((request) => request.path === '/hook')).toHaveLength(1);
  });

  it('scenario 2: alerts the failure of a run someone started again, inside the dedup window', async () => {
    receiver.received.length = 0;
    const { outbox, pump } = await setup();
    const first = failure({ generation: 'run-1' });

    await outbox.append(first);
    await pump();
    await outbox.append({ ...first, id: first.id.replace(/:1$/, ':run-2'), generation: 'run-2' });
    await pump();

    expect(receiver.received.filter((request) => request.path === '/hook')).toHaveLength(2);
    expect(receiver.received.filter((request) => request.path === '/teams')).toHaveLength(2);
  });

  it('keeps an alert that failed every attempt as failed, lists it, and re-sends it on request', async () => {
    receiver.received.length = 0;
    const { outbox, pump, service } = await setup({ maxAttempts: 2 });
    receiver.script = [503, 503, 503, 503];

    await outbox.append(failure());
    await pump(clockMs + 3_600_000);
    const failed = await service.list({ status: 'failed' }, { pageSize: 10 });
    expect(failed.items).toHaveLength(2);
    expect(failed.items[0]!.note).toMatch(/HTTP 503/);

    const resent = await service.resend(
      failed.items.find((item) => item.channel === 'hook')!.id,
      silentLogger,
      'operator-oid',
    );
    // Who asked is kept on the alert (issue #17 § 2).
    expect(resent).toMatchObject({ resentBy: 'operator-oid', note: 're-sent at the request of operator-oid' });
    await pump();
    expect((await service.list({ status: 'delivered' }, { pageSize: 10 })).items).toMatchObject([
      { resentBy: 'operator-oid' },
    ]);
  });

  it('renders but sends nothing in dry-run mode', async () => {
    receiver.received.length = 0;
    const { outbox, pump, service } = await setup({ dryRun: true });

    await outbox.append(failure());
    await pump();

    expect(receiver.received).toHaveLength(0);
    expect((await service.list({ status: 'dry-run' }, { pageSize: 10 })).items).toHaveLength(2);
  });

  it('routes by channel filters: successes only go where asked for, and below minimum severity nowhere', async () => {
    receiver.received.length = 0;
    const { outbox, pump } = await setup({}, { events: ['conversion.succeeded'], minSeverity: 'info' });

    await outbox.append(failure({ type: 'conversion.succeeded', status: 'Succeeded', errorCode: undefined }));
    await pump();

    expect(receiver.received.map((request) => request.path)).toEqual(['/hook']);
  });
});

/** An object's methods bound to it, so a test can override one and keep the rest. */
function bound<T extends object>(target: T): T {
  const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(target)).filter((name) => name !== 'constructor');
  return Object.fromEntries(
    methods.map((name) => [name, (target[name as keyof T] as (...args: unknown[]) => unknown).bind(target)]),
  ) as T;
}
