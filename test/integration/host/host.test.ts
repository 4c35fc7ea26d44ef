import { QueueClient } from '@azure/storage-queue';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startLocalHost, type LocalHost } from '../../../dev/host/host.js';
import type { InvocationOutcome } from '../../../dev/host/invocation.js';
import { uniquePrefix } from '../../support/names.js';
import { readerPrincipal } from '../../support/principals.js';
import { fixtureCatalog, type Observed } from './fixture-catalog.js';

const keys = { functionKeys: ['fn-key'], masterKey: 'master-key', eventGridKey: 'eg-key' };
let host: LocalHost | undefined;

async function start(
  options: {
    gate?: Promise<void>;
    hostId?: string;
    logs?: string[];
    env?: Record<string, string | undefined>;
    responseTimeoutMs?: number;
    trustClientPrincipal?: boolean;
  } = {},
) {
  const queueName = uniquePrefix('q');
  const observed: Observed = { events: [], queueMessages: [], timerRuns: [] };
  const connectionString = inject('storageConnectionString');
  host = await startLocalHost({
    catalog: fixtureCatalog(queueName, observed, options.gate),
    env: { AzureWebJobsStorage: connectionString, FIXTURE_SCHEDULE: '0 0 * * * *', ...options.env },
    keys,
    port: 0,
    hostId: options.hostId ?? uniquePrefix('host'),
    queueSettings: { maxPollingIntervalMs: 100, visibilityTimeoutMs: 0 },
    log: (entry) => void options.logs?.push(`${entry.level} ${entry.message}`),
    ...(options.responseTimeoutMs === undefined ? {} : { httpResponseTimeoutMs: options.responseTimeoutMs }),
    ...(options.trustClientPrincipal === undefined ? {} : { trustClientPrincipal: options.trustClientPrincipal }),
  });
  const queue = new QueueClient(connectionString, queueName);
  return { host, observed, queue, poison: new QueueClient(connectionString, `${queueName}-poison`) };
}

function nextInvocation(
  running: LocalHost,
  predicate: (outcome: InvocationOutcome) => boolean,
): Promise<InvocationOutcome> {
  return new Promise((resolve) => {
    const listener = (outcome: InvocationOutcome): void => {
      if (!predicate(outcome)) return;
      running.runner.off('invocation', listener);
      resolve(outcome);
    };
    running.runner.on('invocation', listener);
  });
}

afterEach(async () => {
  await host?.close();
  host = undefined;
});

describe('HTTP triggers', () => {
  it('binds route parameters including a catch-all, and passes query and body', async () => {
    const { host } = await start();

    const response = await fetch(`${host.url}/api/registries/sandbox/policies/team-a/app?x=1`, {
      method: 'PUT',
      headers: { 'x-functions-key': 'fn-key' },
      body: 'hello',
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      params: { registry: 'sandbox', scope: 'team-a/app' },
      query: { x: '1' },
      method: 'PUT',
      body: 'hello',
    });
  });

  /*
   * Kestrel decodes every escape in the path except %2F, which stays as sent, so a route parameter can hold "%2F"
   * but never a "/" it did not get as a separator (dotnet/aspnetcore#30655, aspnet/Mvc#4599 and #6388).
   */
  it('keeps %2F inside a path segment encoded, as Kestrel does, and decodes every other escape', async () => {
    const { host } = await start();

    const response = await fetch(`${host.url}/api/registries/sandbox/policies/team-a%2Fapp/x%20y%2fz`, {
      headers: { 'x-functions-key': 'fn-key' },
    });

    expect(response.status).toBe(200);
    expect(((await response.json()) as { params: unknown }).params).toEqual({
      registry: 'sandbox',
      scope: 'team-a%2Fapp/x y%2fz',
    });
  });

  it('answers 401 without a key or with a wrong one, and accepts ?code=', async () => {
    const { host } = await start();
    const url = `${host.url}/api/registries/sandbox/policies/_default`;

    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { 'x-functions-key': 'wrong' } })).status).toBe(401);
    expect((await fetch(`${url}?code=fn-key`)).status).toBe(200);
    expect((await fetch(url, { headers: { 'x-functions-key': 'master-key' } })).status).toBe(200);
  });

  it('answers 404 for unknown routes and 405 with Allow for wrong methods', async () => {
    const { host } = await start();

    expect((await fetch(`${host.url}/api/nothing-here`)).status).toBe(404);
    const wrongMethod = await fetch(`${host.url}/api/registries/r/policies/x`, {
      method: 'DELETE',
      headers: { 'x-functions-key': 'fn-key' },
    });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, PUT');
  });

  it('returns problem+json naming the field for bad input', async () => {
    const { host } = await start();

    const response = await fetch(`${host.url}/api/validates`, { method: 'POST', body: '{}' });

    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 400, errors: [{ field: 'body.tag', reason: 'required' }] });
  });

  it('finishes an in-flight request when closed, then refuses new connections', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { host } = await start({ gate });
    const started = nextInvocation(host, () => true);
    const inFlight = fetch(`${host.url}/api/slow`);
    const invoked = new Promise<void>((resolve) => {
      const poll = (): void => (host.runner.inFlightCount > 0 ? resolve() : void setImmediate(poll));
      poll();
    });
    await invoked;

    const closing = host.close();
    release();

    expect(await (await inFlight).text()).toBe('finished');
    await started;
    await closing;
    await expect(fetch(`${host.url}/api/slow`)).rejects.toThrow();
  });
});

describe("Azure's HTTP limits", () => {
  /*
   * Azure Functions HTTP trigger, "Limits": the URL is limited to 4 KB (4,096 bytes) and the request to 100 MB
   * (learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger); "230 seconds is the maximum
   * amount of time that an HTTP triggered function can take to respond", the Azure Load Balancer's idle timeout, and
   * the caller then gets 502 (MicrosoftDocs/azure-docs includes/functions-timeout-duration.md). The status for a long
   * URL is not documented: 414 is this host's choice (docs/assumptions.md A11).
   */
  it('answers 414 problem+json for a URL over 4 KB, and serves one of exactly 4 KB', async () => {
    const { host } = await start();
    const base = `${host.url}/api/registries/sandbox/policies/x?code=fn-key&pad=`;
    const path = (length: number): string => base + 'p'.repeat(length - (base.length - host.url.length));

    const long = await fetch(path(4_097));
    expect(long.status).toBe(414);
    expect(long.headers.get('content-type')).toBe('application/problem+json');
    expect((await fetch(path(4_096))).status).toBe(200);
  });

  /*
   * Azure's front end is Kestrel: its default MaxRequestHeadersTotalSize is 32,768 bytes, past which it answers 431
   * (learn.microsoft.com/dotnet/api/microsoft.aspnetcore.server.kestrel.core.kestrelserverlimits
   * .maxrequestheaderstotalsize). This host keeps Node's smaller limit (16 KiB, request line included; Node answers
   * 431 on HPE_HEADER_OVERFLOW, nodejs/node#25605), so what it serves fits Azure; its answer is problem+json like
   * every other refusal of the host.
   */
  it('answers 431 problem+json for headers over the limit, naming the limit', async () => {
    const { host } = await start();

    const response = await fetch(`${host.url}/api/registries/sandbox/policies/x`, {
      headers: { 'x-functions-key': 'fn-key', 'x-padding': 'z'.repeat(17 * 1024) },
    });

    expect(response.status).toBe(431);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({
      status: 431,
      title: 'Request header fields too large',
      detail: expect.stringContaining('16384 bytes') as unknown,
    });
  });

  it('answers 502 when the function takes longer than the response timeout, and lets the function finish', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { host } = await start({ gate, responseTimeoutMs: 300 });
    const finished = nextInvocation(host, () => true);

    const response = await fetch(`${host.url}/api/slow`);
    release();

    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await finished).toMatchObject({ functionName: 'slow' });
  });
});

/*
 * App Service Authentication drops any x-ms-client-principal a client sends and sets its own after validating a token
 * (Microsoft Learn, "Work with user identities in Azure App Service authentication"); the local host drops it too
 * unless LOCAL_HOST_TRUST_CLIENT_PRINCIPAL is exactly `true`. A 401 then says so, instead of a bare "no identity".
 */
describe('x-ms-client-principal trust', () => {
  it('says in a 401 that the header was dropped, and why, when the host does not trust it', async () => {
    const { host } = await start();

    const response = await fetch(`${host.url}/api/whoami`, { headers: { 'x-ms-client-principal': readerPrincipal() } });

    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await response.json()) as { detail: string; errors: Array<{ field: string; reason: string }> };
    expect(problem.detail).toMatch(/dropped the x-ms-client-principal header/);
    expect(problem.detail).toMatch(/LOCAL_HOST_TRUST_CLIENT_PRINCIPAL is not "true"/);
    expect(problem.errors).toEqual([
      {
        field: 'headers.x-ms-client-principal',
        reason: 'dropped by the local host: LOCAL_HOST_TRUST_CLIENT_PRINCIPAL is not "true"',
      },
    ]);
  });

  it('leaves a 401 for a request without the header as the function wrote it', async () => {
    const { host } = await start();

    const response = await fetch(`${host.url}/api/whoami`);

    expect(response.status).toBe(401);
    expect(await response.text()).not.toMatch(/dropped/);
  });

  it('passes the header through when trusted', async () => {
    const { host } = await start({ trustClientPrincipal: true });

    const response = await fetch(`${host.url}/api/whoami`, { headers: { 'x-ms-client-principal': readerPrincipal() } });

    expect(response.status).toBe(200);
  });
});

describe('Event Grid trigger', () => {
  const webhook = (host: LocalHost, code = 'eg-key', name = 'onEvent'): string =>
    `${host.url}/runtime/webhooks/eventgrid?functionName=${name}&code=${code}`;
  const event = (id: string, subject = 'repo:tag') => ({
    id,
    subject,
    eventType: 'Microsoft.ContainerRegistry.ImagePushed',
    eventTime: '2026-11-23T00:00:00Z',
    topic: '/subscriptions/x',
    data: {},
    dataVersion: '2.0',
    metadataVersion: '1',
  });

  it('answers the subscription validation handshake with 200 and the code, without invoking', async () => {
    const { host, observed } = await start();

    const response = await fetch(webhook(host), {
      method: 'POST',
      headers: { 'aeg-event-type': 'SubscriptionValidation', 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          id: 'v1',
          topic: '/x',
          subject: '',
          eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
          eventTime: '2026-11-23T00:00:00Z',
          metadataVersion: '1',
          dataVersion: '1',
          data: { validationCode: 'abc-123' },
        },
      ]),
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ validationResponse: 'abc-123' });
    expect(observed.events).toHaveLength(0);
  });

  /*
   * As the Event Grid extension does (Azure/azure-sdk-for-net, sdk/eventgrid/Microsoft.Azure.WebJobs.Extensions.
   * EventGrid: src/TriggerBinding/HttpRequestProcessor.cs and src/Config/EventGridExtensionConfigProvider.cs):
   * `aeg-event-type` compared ignoring case — SubscriptionValidation → 200, Notification → the batch's events run at
   * once (Task.WhenAll), 202 Accepted, 500 if any failed; Unsubscribe → 202; missing or anything else → 400; the
   * function is looked up by `functionName` in a Dictionary with the default (case-sensitive) comparer → 404.
   */
  it('invokes once per event in a batch and answers 202 Accepted', async () => {
    const { host, observed } = await start();

    const response = await fetch(webhook(host), {
      method: 'POST',
      headers: { 'aeg-event-type': 'Notification' },
      body: JSON.stringify([event('e1'), event('e2'), event('e3')]),
    });

    expect(response.status).toBe(202);
    expect(observed.events.map(({ id }) => id).sort()).toEqual(['e1', 'e2', 'e3']);
  });

  it("runs a batch's events at once, as the extension does", async () => {
    const { host, observed } = await start();

    const response = await fetch(webhook(host), {
      method: 'POST',
      headers: { 'aeg-event-type': 'notification' },
      body: JSON.stringify([event('b1', 'barrier'), event('b2', 'barrier')]),
    });

    expect(response.status).toBe(202);
    expect(observed.events).toHaveLength(2);
  });

  it('answers 400 without a known aeg-event-type and 202 to Unsubscribe, invoking nothing', async () => {
    const { host, observed } = await start();
    const body = JSON.stringify([event('e1')]);

    expect((await fetch(webhook(host), { method: 'POST', body })).status).toBe(400);
    const unknown = { method: 'POST', body, headers: { 'aeg-event-type': 'Notifications' } };
    expect((await fetch(webhook(host), unknown)).status).toBe(400);
    const unsubscribe = { method: 'POST', body, headers: { 'aeg-event-type': 'Unsubscribe' } };
    expect((await fetch(webhook(host), unsubscribe)).status).toBe(202);
    expect(observed.events).toHaveLength(0);
  });

  it('matches functionName case-sensitively', async () => {
    const { host, observed } = await start();
    const init = { method: 'POST', body: JSON.stringify([event('e1')]), headers: { 'aeg-event-type': 'Notification' } };

    expect((await fetch(webhook(host, 'eg-key', 'OnEvent'), init)).status).toBe(404);
    expect(observed.events).toHaveLength(0);
  });

  it('answers non-2xx when a handler throws so Event Grid redelivers', async () => {
    const { host, observed } = await start();

    const response = await fetch(webhook(host), {
      method: 'POST',
      headers: { 'aeg-event-type': 'Notification' },
      body: JSON.stringify([event('ok'), event('bad', 'fail')]),
    });

    expect(response.status).toBe(500);
    expect(observed.events.map(({ id }) => id)).toEqual(['ok', 'bad']);
  });

  it('requires the system key and a known Event Grid function', async () => {
    const { host } = await start();
    const body = JSON.stringify([event('e1')]);

    expect((await fetch(webhook(host, 'fn-key'), { method: 'POST', body })).status).toBe(401);
    expect(
      (await fetch(`${host.url}/runtime/webhooks/eventgrid?functionName=onEvent`, { method: 'POST', body })).status,
    ).toBe(401);
    expect((await fetch(webhook(host, 'eg-key', 'nope'), { method: 'POST', body })).status).toBe(404);
    const notJson = { method: 'POST', body: 'not json', headers: { 'aeg-event-type': 'Notification' } };
    expect((await fetch(webhook(host), notJson)).status).toBe(400);
  });
});

describe('queue trigger', () => {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');

  it('delivers base64 JSON messages parsed, with dequeueCount, and deletes them on success', async () => {
    const { host, observed, queue } = await start();
    const settled = new Promise((resolve) => host.runner.once('messageSettled', resolve));

    await queue.sendMessage(encode({ digest: 'sha256:1' }));

    expect(await settled).toMatchObject({ functionName: 'onMessage', disposition: 'deleted' });
    expect(observed.queueMessages).toEqual([{ body: { digest: 'sha256:1' }, dequeueCount: 1 }]);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
  });

  it('retries a failing message up to maxDequeueCount (5), then moves it to <queue>-poison', async () => {
    const { host, observed, queue, poison } = await start();
    const dispositions: string[] = [];
    const poisonedSettled = new Promise<void>((resolve) =>
      host.runner.on('messageSettled', ({ disposition }) => {
        dispositions.push(disposition);
        if (disposition === 'poisoned') resolve();
      }),
    );

    await queue.sendMessage(encode({ fail: true }));
    await poisonedSettled;
    const poisoned = await poison.peekMessages();

    expect(dispositions).toEqual(['retry', 'retry', 'retry', 'retry', 'poisoned']);
    expect(observed.queueMessages.map(({ dequeueCount }) => dequeueCount)).toEqual([1, 2, 3, 4, 5]);
    expect(Buffer.from(poisoned.peekedMessageItems[0]!.messageText, 'base64').toString()).toBe('{"fail":true}');
    expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
  });
});

describe('queue trigger: what the real queue extension and the Node library do with a message body', () => {
  /*
   * A message that does not decode under the configured messageEncoding (base64 by default) is never handed to the
   * function: the queue extension logs "Message decoding has failed! Check MessageEncoding settings." and moves it
   * to the poison queue at once (Azure/azure-sdk-for-net, sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.
   * Queues/src/QueueServiceClientProvider.cs, the MessageDecodingFailed handler).
   */
  it('moves a message that is not valid base64 to <queue>-poison at once, without invoking, and says why', async () => {
    const logs: string[] = [];
    const { host, observed, queue, poison } = await start({ logs });
    const settled = new Promise((resolve) => host.runner.once('messageSettled', resolve));

    await queue.sendMessage('{"digest": "not base64 at all"}');

    expect(await settled).toMatchObject({ functionName: 'onMessage', disposition: 'poisoned' });
    expect(observed.queueMessages).toEqual([]);
    const poisoned = await poison.peekMessages();
    expect(poisoned.peekedMessageItems[0]?.messageText).toBe('{"digest": "not base64 at all"}');
    expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
    expect(logs.join('\n')).toMatch(/warning Message decoding has failed! Check MessageEncoding settings\. MessageId=/);
  });

  it.each([
    ['a JSON number', '42', 42],
    ['a JSON boolean', 'true', true],
    ['a JSON string', '"v1"', 'v1'],
    ['JSON null', 'null', null],
    ['an object', ' {"a":1} ', { a: 1 }],
    ['text that is not JSON', 'hello', 'hello'],
  ] as const)('hands %s to the function as @azure/functions parses it', async (_name, text, expected) => {
    const { host, observed, queue } = await start();
    const settled = new Promise((resolve) => host.runner.once('messageSettled', resolve));

    await queue.sendMessage(Buffer.from(text).toString('base64'));
    await settled;

    expect(observed.queueMessages.map(({ body }) => body)).toEqual([expected]);
  });
});

describe('binding expressions', () => {
  /*
   * As the real host: an unresolved `%SETTING%` fails the indexing of that one function, which is disabled and named
   * in error, and the host starts with the others ("'%X%' does not resolve to a value.", azure-functions-host
   * src/Microsoft.Azure.WebJobs.Host/NameResolverExtensions.cs; "Function 'Functions.X' failed indexing and will be
   * disabled.").
   */
  it('a missing %SETTING% disables that function only, and the host says which and why', async () => {
    const logs: string[] = [];
    const { host } = await start({ logs, env: { FIXTURE_SCHEDULE: undefined } });

    const status = await fetch(`${host.url}/admin/host/status`, { headers: { 'x-functions-key': 'master-key' } });
    const body = (await status.json()) as { state: string; functions: string[]; errors?: string[] };
    expect(body.state).toBe('Running');
    expect(body.functions).not.toContain('everyHour');
    expect(body.functions).toContain('onMessage');
    expect(body.errors).toEqual([
      "The 'everyHour' function is in error: Microsoft.Azure.WebJobs.Host: Error indexing method 'Functions.everyHour'. Microsoft.Azure.WebJobs.Host: '%FIXTURE_SCHEDULE%' does not resolve to a value.",
    ]);
    expect(logs).toContain("error Function 'Functions.everyHour' failed indexing and will be disabled.");
    const run = await fetch(`${host.url}/admin/functions/everyHour`, {
      method: 'POST',
      headers: { 'x-functions-key': 'master-key', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(run.status).toBe(404);
    // The other functions work.
    expect((await fetch(`${host.url}/api/registries/sandbox/policies/a?code=fn-key`)).status).toBe(200);
  });
});

describe('timer trigger', () => {
  it('runs on demand through POST /admin/functions/{name} with the master key (202)', async () => {
    const { host, observed } = await start();
    const ran = nextInvocation(host, (outcome) => outcome.functionName === 'everyHour');

    expect(
      (await fetch(`${host.url}/admin/functions/everyHour`, { method: 'POST', body: '{"input":""}' })).status,
    ).toBe(401);
    const response = await fetch(`${host.url}/admin/functions/everyHour`, {
      method: 'POST',
      headers: { 'x-functions-key': 'master-key', 'content-type': 'application/json' },
      body: '{"input":""}',
    });

    expect(response.status).toBe(202);
    await ran;
    expect(observed.timerRuns).toEqual([{ isPastDue: false }]);
  });

  it('fires once with isPastDue when the recorded next occurrence passed while the host was down', async () => {
    const hostId = uniquePrefix('host');
    const first = await start({ hostId });
    await first.host.close();
    // Rewrite the schedule status as if the host had been down across an occurrence.
    const { BlobServiceClient } = await import('@azure/storage-blob');
    const blob = BlobServiceClient.fromConnectionString(inject('storageConnectionString'))
      .getContainerClient('azure-webjobs-hosts')
      .getBlockBlobClient(`timers/${hostId}/everyhour/status`);
    const stale = JSON.stringify({
      Last: '2026-01-01T00:00:00.000Z',
      Next: '2026-01-01T01:00:00.000Z',
      LastUpdated: '2026-01-01T00:00:00.000Z',
    });
    await blob.upload(stale, stale.length);

    const second = await start({ hostId });

    expect(second.observed.timerRuns).toEqual([{ isPastDue: true }]);
  });
});
