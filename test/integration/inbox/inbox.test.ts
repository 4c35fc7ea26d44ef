import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BehaviourInput, InboxDelivery } from '../../../dev/emulator/inbox/index.js';
import { startSandboxEmulator, type SandboxEmulator } from '../../../dev/emulator/sandbox.js';
import { loadConfig } from '../../../lib/config.js';

const CHROMIUM = '/usr/bin/chromium';
const execFileAsync = promisify(execFile);
const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const teamsFixture = (): { attachments: [{ content: Record<string, unknown> }] } & Record<string, unknown> =>
  JSON.parse(fixture('conversion-failed.teams.json')) as never;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/**
 * The inbox receivers as the product reaches them: HTTPS on the management listener, trusting the emulator CA, with
 * the sandbox's app settings. Every test starts from an empty inbox with normal behaviour.
 */
describe('sandbox inbox', () => {
  let sandbox: SandboxEmulator;
  let settings: Record<string, string>;
  let ca: string;

  beforeAll(async () => {
    sandbox = await startSandboxEmulator({ directory: await mkdtemp(join(tmpdir(), 'inbox-')), realTime: false });
    settings = sandbox.appSettings();
    ca = readFileSync(sandbox.emulator.caFile, 'utf8');
  });
  afterAll(async () => {
    await sandbox.close();
  });
  beforeEach(async () => {
    expect((await control('DELETE', '/inbox')).status).toBe(204);
    for (const channel of ['sandbox-webhook', 'sandbox-teams']) await setBehaviour(channel, { mode: 'normal' });
  });

  const post = (url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        { method: 'POST', ca, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const control = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${sandbox.emulator.controlUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  const setBehaviour = async (channel: string, behaviour: BehaviourInput): Promise<void> => {
    expect((await control('PUT', `/inbox/channels/${channel}/behaviour`, behaviour)).status).toBe(200);
  };
  const deliveries = async (query = ''): Promise<InboxDelivery[]> =>
    (await (await control('GET', `/inbox${query}`)).json()) as InboxDelivery[];
  const signedHeaders = (
    body: string,
    options: { id?: string; at?: Date; secret?: string } = {},
  ): Record<string, string> => {
    const id = options.id ?? `msg_${randomUUID()}`;
    const at = options.at ?? new Date();
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(options.secret ?? settings.ALERT_SANDBOX_WEBHOOK_SECRET!).sign(id, at, body),
    };
  };
  const webhookUrl = (): string => settings.ALERT_SANDBOX_WEBHOOK_URL!;
  const teamsUrl = (): string => settings.ALERT_SANDBOX_TEAMS_URL!;

  describe('app settings', () => {
    it('declares both channels in ALERT_CHANNELS with URLs on the management listener and a fresh whsec_ secret', () => {
      expect(JSON.parse(settings.ALERT_CHANNELS!)).toEqual([
        {
          name: 'sandbox-webhook',
          kind: 'webhook',
          urlSetting: 'ALERT_SANDBOX_WEBHOOK_URL',
          secretSetting: 'ALERT_SANDBOX_WEBHOOK_SECRET',
        },
        { name: 'sandbox-teams', kind: 'teams', urlSetting: 'ALERT_SANDBOX_TEAMS_URL' },
      ]);
      expect(settings.ALERT_SANDBOX_WEBHOOK_URL).toBe(`${sandbox.emulator.managementUrl}/inbox/hooks/sandbox-webhook`);
      expect(settings.ALERT_SANDBOX_TEAMS_URL).toBe(`${sandbox.emulator.managementUrl}/inbox/teams/sandbox-teams`);
      expect(settings.ALERT_SANDBOX_WEBHOOK_SECRET).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(settings.ALERT_SANDBOX_WEBHOOK_SECRET!.slice('whsec_'.length), 'base64')).toHaveLength(32);
      // The product's own settings are still there.
      expect(settings).toHaveProperty('REGISTRIES');
    });

    it("passes the product's own configuration check", () => {
      const config = loadConfig({ ...settings, AzureWebJobsStorage: 'UseDevelopmentStorage=true' });

      expect(config.alerts.channels.map((channel) => [channel.name, channel.kind])).toEqual([
        ['sandbox-webhook', 'webhook'],
        ['sandbox-teams', 'teams'],
      ]);
    });

    it('lists the channels on the control listener without their secrets', async () => {
      const channels = (await (await control('GET', '/inbox/channels')).json()) as object[];

      expect(channels).toEqual([
        { name: 'sandbox-webhook', kind: 'webhook', url: settings.ALERT_SANDBOX_WEBHOOK_URL },
        { name: 'sandbox-teams', kind: 'teams', url: settings.ALERT_SANDBOX_TEAMS_URL },
      ]);
    });
  });

  describe('webhook receiver', () => {
    const body = fixture('conversion-failed.webhook.json');

    it('records a correctly signed webhook as verified and answers 204', async () => {
      const headers = signedHeaders(body, { id: 'msg_2pY8kQ3conversionFailed0001' });

      const answer = await post(webhookUrl(), body, headers);

      expect(answer.status).toBe(204);
      const [delivery] = await deliveries();
      expect(delivery).toMatchObject({
        channel: 'sandbox-webhook',
        kind: 'webhook',
        webhookId: 'msg_2pY8kQ3conversionFailed0001',
        verified: true,
        outcome: 'delivered',
        status: 204,
        body: JSON.parse(body) as unknown,
      });
      expect(delivery!.receivedAt).toBe(sandbox.emulator.clock.now().toISOString());
    });

    it('rejects a tampered body with 401 and records it as rejected', async () => {
      const headers = signedHeaders(body);
      const tampered = body.replace('"severity": "error"', '"severity": "info"');

      const answer = await post(webhookUrl(), tampered, headers);

      expect(answer.status).toBe(401);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(await deliveries()).toMatchObject([
        {
          outcome: 'rejected',
          status: 401,
          verified: false,
          webhookId: headers['webhook-id'],
          reason: expect.stringContaining('No matching signature') as unknown,
        },
      ]);
    });

    it('rejects a signature made with another secret, a stale timestamp and missing headers with 401', async () => {
      const otherSecret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
      const stale = new Date(Date.now() - 10 * 60_000);

      const answers = [
        await post(webhookUrl(), body, signedHeaders(body, { secret: otherSecret })),
        await post(webhookUrl(), body, signedHeaders(body, { at: stale })),
        await post(webhookUrl(), body),
      ];

      expect(answers.map((a) => a.status)).toEqual([401, 401, 401]);
      const reasons = (await deliveries()).map((d) => d.reason);
      expect(reasons).toEqual([
        expect.stringContaining('Missing required headers'),
        expect.stringContaining('timestamp too old'),
        expect.stringContaining('No matching signature'),
      ]);
    });

    it('records a repeated webhook-id as duplicate (still 2xx), so exactly one delivery remains after dedupe', async () => {
      const id = `msg_${randomUUID()}`;

      const first = await post(webhookUrl(), body, signedHeaders(body, { id }));
      // A retry: same id, new attempt timestamp, so a new signature.
      const retry = await post(webhookUrl(), body, signedHeaders(body, { id, at: new Date(Date.now() + 5_000) }));

      expect([first.status, retry.status]).toEqual([204, 204]);
      expect((await deliveries()).map((d) => d.outcome)).toEqual(['duplicate', 'delivered']);
      expect(await deliveries('?outcome=delivered&channel=sandbox-webhook')).toHaveLength(1);
    });

    it('answers 404 for an unknown channel and 405 for GET', async () => {
      const unknown = await post(`${sandbox.emulator.managementUrl}/inbox/hooks/nobody`, body, signedHeaders(body));
      const wrongKind = await post(
        `${sandbox.emulator.managementUrl}/inbox/hooks/sandbox-teams`,
        body,
        signedHeaders(body),
      );
      const get = await new Promise<number>((resolve, reject) =>
        httpsRequest(webhookUrl(), { ca }, (res) => resolve(res.resume().statusCode ?? 0))
          .on('error', reject)
          .end(),
      );

      expect([unknown.status, wrongKind.status, get]).toEqual([404, 404, 405]);
      expect(await deliveries()).toEqual([]);
    });
  });

  describe('Teams receiver', () => {
    it('accepts an Adaptive Card 1.4 message with 202 like Workflows and records it', async () => {
      const message = fixture('conversion-failed.teams.json');

      const answer = await post(teamsUrl(), message);

      expect(answer.status).toBe(202);
      expect(answer.text).toBe('');
      expect(await deliveries('?kind=teams')).toMatchObject([
        {
          channel: 'sandbox-teams',
          kind: 'teams',
          outcome: 'delivered',
          status: 202,
          body: JSON.parse(message) as unknown,
        },
      ]);
    });

    it('answers 400 for a 1.5 card, saying Workflows cannot render it', async () => {
      const message = teamsFixture();
      message.attachments[0].content.version = '1.5';

      const answer = await post(teamsUrl(), JSON.stringify(message));

      expect(answer.status).toBe(400);
      expect((JSON.parse(answer.text) as { detail: string }).detail).toMatch(
        /Adaptive Card version 1\.5 cannot be rendered by Teams Workflows.*send version "1\.4"/,
      );
      expect(await deliveries()).toMatchObject([{ outcome: 'rejected', status: 400 }]);
    });

    it('answers 413 for a 30 KB message', async () => {
      const message = teamsFixture();
      (message.attachments[0].content.body as unknown[]).push({
        type: 'TextBlock',
        text: 'x'.repeat(30 * 1024),
        wrap: true,
      });
      const bytes = Buffer.from(JSON.stringify(message), 'utf8');

      const answer = await post(teamsUrl(), bytes);

      expect(answer.status).toBe(413);
      expect(await deliveries()).toMatchObject([{ outcome: 'rejected', status: 413, bytes: bytes.length }]);
    });

    it('answers 400 for envelopes Workflows does not take: MessageCard, two attachments, another type', async () => {
      const messageCard = {
        '@type': 'MessageCard',
        '@context': 'https://schema.org/extensions',
        summary: 'x',
        text: 'x',
      };
      const two = teamsFixture();
      two.attachments.push(two.attachments[0]);
      const notMessage = { ...teamsFixture(), type: 'invoke' };

      const answers = await Promise.all([messageCard, two, notMessage].map((m) => post(teamsUrl(), JSON.stringify(m))));

      expect(answers.map((a) => a.status)).toEqual([400, 400, 400]);
      expect(answers[1]!.text).toContain('exactly one attachment');
    });
  });

  describe('scripted behaviour', () => {
    it('answers 429 with Retry-After for the next k requests, then delivers', async () => {
      await setBehaviour('sandbox-teams', { mode: 'status', status: 429, count: 2, retryAfterSeconds: 7 });
      const message = fixture('conversion-failed.teams.json');

      const first = await post(teamsUrl(), message);
      const second = await post(teamsUrl(), message);
      const third = await post(teamsUrl(), message);

      expect([first.status, second.status, third.status]).toEqual([429, 429, 202]);
      expect(first.headers['retry-after']).toBe('7');
      expect((await deliveries()).map((d) => d.outcome)).toEqual(['delivered', 'scripted', 'scripted']);
      expect(await (await control('GET', '/inbox/channels/sandbox-teams/behaviour')).json()).toEqual({
        channel: 'sandbox-teams',
        mode: 'normal',
      });
    });

    it('answers a scripted 503 to a webhook without verifying it, keeping its webhook-id for retry assertions', async () => {
      await setBehaviour('sandbox-webhook', { mode: 'status', status: 503 });
      const body = fixture('conversion-failed.webhook.json');
      const headers = signedHeaders(body);

      const answer = await post(webhookUrl(), body, headers);
      const retry = await post(webhookUrl(), body, signedHeaders(body, { id: headers['webhook-id']! }));

      expect([answer.status, retry.status]).toEqual([503, 204]);
      expect(answer.headers['retry-after']).toBeUndefined();
      expect((await deliveries()).map((d) => [d.outcome, d.webhookId])).toEqual([
        ['delivered', headers['webhook-id']],
        ['scripted', headers['webhook-id']],
      ]);
    });

    it('is down (connection reset, nothing recorded) until told otherwise', async () => {
      await setBehaviour('sandbox-webhook', { mode: 'down' });
      const body = fixture('conversion-failed.webhook.json');
      const since = sandbox.emulator.state.requestLog.query().at(-1)?.sequence ?? 0;

      await expect(post(webhookUrl(), body, signedHeaders(body))).rejects.toMatchObject({ code: 'ECONNRESET' });
      await expect(post(webhookUrl(), body, signedHeaders(body))).rejects.toMatchObject({ code: 'ECONNRESET' });
      const teamsStillUp = await post(teamsUrl(), fixture('conversion-failed.teams.json'));
      await setBehaviour('sandbox-webhook', { mode: 'normal' });
      const afterwards = await post(webhookUrl(), body, signedHeaders(body));

      expect([teamsStillUp.status, afterwards.status]).toEqual([202, 204]);
      expect((await deliveries()).map((d) => d.kind)).toEqual(['webhook', 'teams']);
      const attempts = sandbox.emulator.state.requestLog.query({ path: '^/inbox/hooks/', since });
      expect(attempts.map((entry) => entry.status)).toEqual([0, 0, 204]);
    });

    it('rejects an invalid behaviour and unknown channels', async () => {
      const invalid = await control('PUT', '/inbox/channels/sandbox-teams/behaviour', { mode: 'status', status: 200 });
      const unknown = await control('PUT', '/inbox/channels/nobody/behaviour', { mode: 'down' });

      expect([invalid.status, unknown.status]).toEqual([400, 404]);
    });
  });

  describe('GET /inbox', () => {
    it('lists newest first and filters by channel and kind', async () => {
      const body = fixture('conversion-failed.webhook.json');
      await post(webhookUrl(), body, signedHeaders(body));
      await post(teamsUrl(), fixture('conversion-failed.teams.json'));
      await post(webhookUrl(), body, signedHeaders(body));

      const all = await deliveries();
      const teams = await deliveries('?kind=teams');
      const webhook = await deliveries('?channel=sandbox-webhook');
      const bad = await control('GET', '/inbox?kind=email');

      expect(all.map((d) => d.kind)).toEqual(['webhook', 'teams', 'webhook']);
      expect(all.map((d) => d.sequence)).toEqual([...all.map((d) => d.sequence)].sort((a, b) => b - a));
      expect(teams).toHaveLength(1);
      expect(webhook.map((d) => d.channel)).toEqual(['sandbox-webhook', 'sandbox-webhook']);
      expect(bad.status).toBe(400);
    });
  });

  describe('GET /inbox/cards', () => {
    const cardsPage = async (): Promise<{ html: string; response: Response }> => {
      const response = await control('GET', '/inbox/cards');
      return { html: await response.text(), response };
    };

    it('draws the card with its title, facts and OpenUrl buttons, and lists webhook bodies with their verification', async () => {
      await post(teamsUrl(), fixture('conversion-failed.teams.json'));
      const body = fixture('conversion-failed.webhook.json');
      await post(webhookUrl(), body, signedHeaders(body));

      const { html, response } = await cardsPage();

      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
      // The fixtures are the product's own rendering (lib/alerts/render.ts) of a failed conversion.
      expect(html).toMatch(
        /<div class="ac-textblock[^"]*co-attention[^"]*">Streaming conversion failed: team-a\/app<\/div>/,
      );
      expect(html).toContain('<tr><th>Repository</th><td>team-a/app</td></tr>');
      expect(html).toContain('<tr><th>Error code</th><td>UNKNOWN_ERROR</td></tr>');
      expect(html).toMatch(
        /<a class="ac-action" href="https:\/\/portal\.azure\.com\/[^"]+" target="_blank" rel="noopener noreferrer">Open the registry in the Azure portal<\/a>/,
      );
      expect(html).toContain('quoting operation id 171374b2-790f-411c-9a30-d157966efc67');
      expect(html).toContain('signature verified');
      expect(html).toContain('&quot;type&quot;: &quot;conversion.failed&quot;');
    });

    it('escapes card text, keeps the page free of scripts and external references, and labels unknown elements', async () => {
      const message = teamsFixture();
      const card = message.attachments[0].content;
      card.body = [
        { type: 'TextBlock', text: 'Alert <script>alert(1)</script> & "quotes"', wrap: true },
        { type: 'FactSet', facts: [{ title: '<img src=x onerror=alert(1)>', value: '<b>v</b>' }] },
        { type: 'Image', url: 'https://example.com/tracker.png', altText: 'logo' },
        { type: 'Media', sources: [{ url: 'https://example.com/video.mp4' }] },
      ];
      card.actions = [
        { type: 'Action.OpenUrl', title: 'Docs', url: 'https://learn.microsoft.com/azure/' },
        { type: 'Action.OpenUrl', title: 'Evil', url: 'javascript:alert(1)' },
        { type: 'Action.Submit', title: 'Approve' },
      ];
      await post(teamsUrl(), JSON.stringify(message));

      const { html } = await cardsPage();

      expect(html).toContain('Alert &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
      expect(html).toContain('<th>&lt;img src=x onerror=alert(1)&gt;</th><td>&lt;b&gt;v&lt;/b&gt;</td>');
      expect(html).not.toMatch(/<script/i);
      expect(html).not.toMatch(/<img|<link|<iframe|<object|<embed|\ssrc\s*=\s*["']|url\(|@import/i);
      expect(html).not.toContain('javascript:');
      // Every absolute URL in the page is the href of an OpenUrl button.
      const urls = [...html.matchAll(/https?:\/\/[^"'\s<>]*/g)].map((m) => ({ url: m[0], index: m.index }));
      expect(urls.map((u) => u.url)).toEqual(['https://learn.microsoft.com/azure/']);
      expect(html.slice(0, urls[0]!.index)).toMatch(/<a class="ac-action" href="$/);
      expect(html).toContain('Unsupported element: Media');
      expect(html).toContain('Image: logo (not loaded');
      expect(html).toContain('Action.Submit: not supported in cards posted through a webhook');
    });

    it('shows rejected cards as Teams would: "couldn\'t be displayed", with the reason', async () => {
      const message = teamsFixture();
      message.attachments[0].content.version = '1.5';
      await post(teamsUrl(), JSON.stringify(message));

      const { html } = await cardsPage();

      expect(html).toContain("We're sorry, this card couldn't be displayed");
      expect(html).toContain('Adaptive Card version 1.5 cannot be rendered');
    });

    // What a registry owner sees, rendered by a real browser. UPDATE_SCREENSHOTS=1 refreshes the README's copy in
    // docs/; otherwise the picture goes to a temporary folder so a test run leaves the tree clean.
    it.skipIf(!existsSync(CHROMIUM))('renders in headless Chromium (docs/inbox-cards.png)', async () => {
      await post(teamsUrl(), fixture('conversion-failed.teams.json'));
      const body = fixture('conversion-failed.webhook.json');
      await post(webhookUrl(), body, signedHeaders(body));
      const page = join(await mkdtemp(join(tmpdir(), 'inbox-cards-')), 'cards.html');
      await writeFile(page, (await cardsPage()).html);
      const png =
        process.env.UPDATE_SCREENSHOTS === '1'
          ? fileURLToPath(new URL('../../../docs/inbox-cards.png', import.meta.url))
          : join(dirname(page), 'inbox-cards.png');

      await execFileAsync(
        CHROMIUM,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--hide-scrollbars',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
          `--user-data-dir=${dirname(page)}/profile`,
          '--window-size=900,1100',
          `--screenshot=${png}`,
          pathToFileURL(page).href,
        ],
        { timeout: 60_000 },
      );

      expect(readFileSync(png).subarray(1, 4).toString('latin1')).toBe('PNG');
    });
  });
});
