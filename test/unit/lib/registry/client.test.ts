import { createHttpHeaders, type HttpClient, type PipelineRequest } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { AcrError } from '../../../../lib/core/errors.js';
import { RegistryClient } from '../../../../lib/registry/client.js';

/**
 * ACR's answers to a conversion start, taken as they come (issue #14, scenario 8): any 2xx is a start, a 409 is an
 * AcrError the pipeline resolves by adopting, and a body that is not JSON is a classified error, not a SyntaxError.
 * The transcript shows only `202 {"id","status":"NotStarted"}` (docs/sources.md § ACR artifact streaming API).
 */

const digest = `sha256:${'2'.repeat(64)}`;

/** Answers the token request, then the start with the given status, headers and body. */
function registryAnswering(status: number, body: string, headers: Record<string, string> = {}): RegistryClient {
  const httpClient: HttpClient = {
    sendRequest: (request: PipelineRequest) =>
      Promise.resolve(
        new URL(request.url).pathname === '/oauth2/token'
          ? { request, status: 200, headers: createHttpHeaders(), bodyAsText: '{"access_token":"acr-access"}' }
          : { request, status, headers: createHttpHeaders(headers), bodyAsText: body },
      ),
  };
  return new RegistryClient({
    loginServer: 'contoso.azurecr.io',
    credentials: { type: 'password', username: 'puller', password: 'not-a-real-password' },
    httpClient,
    retry: { maxRetries: 0 },
  });
}

async function startError(client: RegistryClient): Promise<AcrError> {
  const error = await client.startStreamingConversion('team-a/app', digest).catch((caught: unknown) => caught);
  if (!(error instanceof AcrError)) throw new Error(`expected an AcrError, got ${String(error)}`);
  return error;
}

describe("RegistryClient: ACR's answers taken as they come", () => {
  it.each([200, 201, 202])('takes %d as a start', async (status) => {
    const client = registryAnswering(status, '{"id":"op-1","status":"NotStarted"}');

    expect(await client.startStreamingConversion('team-a/app', digest)).toEqual({ id: 'op-1', status: 'NotStarted' });
  });

  it('takes the operation id from the Operation-Id header when the body is empty', async () => {
    const client = registryAnswering(202, '', { 'operation-id': 'op-from-header' });

    expect(await client.startStreamingConversion('team-a/app', digest)).toEqual({
      id: 'op-from-header',
      status: 'NotStarted',
    });
  });

  it('reports a 409 as an AcrError with its status and code', async () => {
    const error = await startError(
      registryAnswering(409, '{"errors":[{"code":"CONFLICT","message":"already in progress"}]}'),
    );

    expect(error).toMatchObject({ status: 409, code: 'CONFLICT', transient: false });
  });

  it('reports a 2xx whose body is not JSON, or not an operation, as INVALID_RESPONSE', async () => {
    const html = await startError(registryAnswering(202, '<html>gateway</html>'));
    const shape = await startError(registryAnswering(202, '{"id":"op-1","status":42}'));

    expect(html).toMatchObject({ status: 202, code: 'INVALID_RESPONSE' });
    expect(shape).toMatchObject({ status: 202, code: 'INVALID_RESPONSE' });
  });

  it('scenario 8: keeps an operation status it has never seen, verbatim', async () => {
    const client = registryAnswering(
      200,
      '{"name":"ArtifactStreamingConversion","status":"Throttled","progress":"3%"}',
    );

    expect(await client.getOperation('team-a/app', 'op-1')).toMatchObject({ status: 'Throttled', progress: '3%' });
  });

  it.each([
    [
      'GET _streaming/{digest}',
      (client: RegistryClient, notAfter: Date) => client.getStreamingOperation('team-a/app', digest, { notAfter }),
    ],
    [
      'GET referrers',
      (client: RegistryClient, notAfter: Date) =>
        client.listReferrers('team-a/app', digest, 'application/vnd.azure.artifact.streaming.v1', { notAfter }),
    ],
  ])('scenario 5: %s before a start is not retried past its notAfter either', async (_name, call) => {
    const requests: number[] = [];
    const started = Date.now();
    const client = new RegistryClient({
      loginServer: 'contoso.azurecr.io',
      credentials: { type: 'password', username: 'puller', password: 'not-a-real-password' },
      httpClient: throttled(requests, started),
    });

    const error = await call(client, new Date(started + 500)).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ status: 429, code: 'TOOMANYREQUESTS' });
    expect(requests).toHaveLength(1); // the retry after Retry-After 1 s would start after the limit
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('scenario 5: stops retrying a throttled start before its notAfter, so the call never outlasts a lease', async () => {
    const posts: number[] = [];
    const started = Date.now();
    const client = new RegistryClient({
      loginServer: 'contoso.azurecr.io',
      credentials: { type: 'password', username: 'puller', password: 'not-a-real-password' },
      httpClient: throttled(posts, started),
    });

    const error = await client
      .startStreamingConversion('team-a/app', digest, { notAfter: new Date(started + 1_500) })
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ status: 429, code: 'TOOMANYREQUESTS' });
    expect(posts).toHaveLength(2); // at once, then after Retry-After 1 s; a third would start after the limit
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});

/** A registry that throttles every call with Retry-After 1 s, noting when each (non-token) request came. */
function throttled(requests: number[], started: number): HttpClient {
  return {
    sendRequest: (request: PipelineRequest) => {
      const token = new URL(request.url).pathname === '/oauth2/token';
      if (!token) requests.push(Date.now() - started);
      return Promise.resolve({
        request,
        status: token ? 200 : 429,
        headers: createHttpHeaders(token ? {} : { 'retry-after': '1' }),
        bodyAsText: token ? '{"access_token":"a"}' : '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
      });
    },
  };
}
