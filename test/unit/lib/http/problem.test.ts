import { createHttpHeaders, createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { AcrError, NotFoundError, ValidationError } from '../../../../lib/core/errors.js';
import type { Logger } from '../../../../lib/core/logging.js';
import { errorToResponse, upstreamErrorOf } from '../../../../lib/http/problem.js';

/**
 * The one error mapper (issue #13): the app's errors keep their status; ACR and Azure SDK failures are upstream
 * failures (503 with a retry hint, or 502), never a generic 500; everything else is a 500 that says nothing.
 */

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return {
    lines,
    trace: record('trace'),
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}

function acrError(status: number, code: string, retryAfterMs?: number): AcrError {
  return new AcrError(`could not read the manifest: GET … answered ${status} ${code} (ACR's own words)`, {
    status,
    code,
    correlationId: 'c0ffee00-0000-4000-8000-000000000001',
    method: 'GET',
    path: '/acr/v1/team-a/app/_manifests/sha256:' + 'a'.repeat(64),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** A RestError as the Azure SDKs throw it: status, service code, the request and the response headers. */
function restError(url: string, statusCode: number | undefined, headers: Record<string, string> = {}): RestError {
  const request = createPipelineRequest({ url });
  return new RestError('The server is busy. RequestId:secret-looking-text', {
    ...(statusCode === undefined ? {} : { statusCode }),
    code: statusCode === undefined ? 'ECONNRESET' : 'ServerBusy',
    request,
    ...(statusCode === undefined
      ? {}
      : {
          response: {
            status: statusCode,
            request,
            headers: createHttpHeaders({ 'x-ms-request-id': 'storage-request-1', ...headers }),
          },
        }),
  });
}

function problem(response: ReturnType<typeof errorToResponse>): { status: number; title: string; detail: string } {
  return JSON.parse(response.body as string) as { status: number; title: string; detail: string };
}

const tableUrl = 'http://127.0.0.1:10002/devstoreaccount1/streamingConversions()';
const armUrl =
  'https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r';

describe('errorToResponse: upstream failures', () => {
  it('answers an ACR 503 with 503 problem+json, a Retry-After and the correlation id, not a 500', () => {
    const log = recordingLogger();

    const response = errorToResponse(acrError(503, 'UNAVAILABLE'), log);

    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'content-type': 'application/problem+json', 'retry-after': '10' });
    expect(problem(response)).toMatchObject({ status: 503, title: 'ACR is unavailable' });
    expect(problem(response).detail).toMatch(/^ACR answered 503 UNAVAILABLE to GET \/acr\/v1\/team-a\/app\/_manifests/);
    expect(problem(response).detail).toContain('correlation id c0ffee00-0000-4000-8000-000000000001');
    expect(problem(response).detail).not.toContain("ACR's own words");
    expect(log.lines).toEqual([expect.stringMatching(/^warn request failed upstream: ACR answered 503/)]);
  });

  it("takes ACR's own Retry-After, and waits longer after a 429 without one", () => {
    expect(errorToResponse(acrError(429, 'TOOMANYREQUESTS', 4_200), recordingLogger()).headers).toMatchObject({
      'retry-after': '5',
    });
    expect(errorToResponse(acrError(429, 'TOOMANYREQUESTS'), recordingLogger()).headers).toMatchObject({
      'retry-after': '30',
    });
    expect(problem(errorToResponse(acrError(0, 'NETWORK'), recordingLogger())).detail).toMatch(/^ACR did not answer/);
  });

  it('answers an ACR refusal (401, 403, other 4xx) with 502 and no retry hint', () => {
    for (const [status, code] of [
      [401, 'UNAUTHORIZED'],
      [403, 'DENIED'],
      [400, 'MANIFEST_INVALID'],
    ] as const) {
      const response = errorToResponse(acrError(status, code), recordingLogger());

      expect(response.status).toBe(502);
      expect(response.headers).not.toHaveProperty('retry-after');
      expect(problem(response)).toMatchObject({ status: 502, title: 'ACR refused the request' });
      expect(problem(response).detail).toContain(`answered ${status} ${code}`);
    }
  });

  it('answers a storage 503 or a lost storage answer with 503 and a Retry-After, naming Azure Storage', () => {
    const busy = errorToResponse(restError(tableUrl, 503, { 'retry-after': '3' }), recordingLogger());
    const lost = errorToResponse(restError(tableUrl, undefined), recordingLogger());

    expect(busy).toMatchObject({ status: 503, headers: { 'retry-after': '3' } });
    expect(problem(busy)).toMatchObject({ title: 'Azure Storage is unavailable' });
    expect(problem(busy).detail).toBe(
      'Azure Storage answered 503 ServerBusy (correlation id storage-request-1). Try again in 3 s.',
    );
    expect(lost).toMatchObject({ status: 503, headers: { 'retry-after': '10' } });
    expect(problem(lost).detail).toMatch(/^Azure Storage did not answer/);
  });

  it("answers Azure refusing the app's identity with 502, naming the service by the request's path", () => {
    const arm = errorToResponse(restError(armUrl, 403), recordingLogger());
    const storage = errorToResponse(restError(tableUrl, 403), recordingLogger());

    expect(arm.status).toBe(502);
    expect(problem(arm).title).toBe('Azure Resource Manager refused the request');
    expect(problem(storage).title).toBe('Azure Storage refused the request');
    expect(problem(storage).detail).toContain('role assignments');
  });

  it('keeps a storage 400 (a request of ours that is wrong) a generic 500 that leaks nothing', () => {
    const log = recordingLogger();

    const response = errorToResponse(restError(tableUrl, 400), log);

    expect(response.status).toBe(500);
    expect(problem(response).detail).toBe('The request failed unexpectedly; the details are in the logs.');
    expect(log.lines[0]).toMatch(/^error unhandled error/);
    expect(upstreamErrorOf(restError(tableUrl, 404))).toBeUndefined();
  });
});

describe('errorToResponse: the app and everything else', () => {
  it("keeps the app's errors with their status and fields", () => {
    const invalid = errorToResponse(
      new ValidationError('Invalid body', [{ field: 'body.tag', reason: 'required' }]),
      recordingLogger(),
    );
    const missing = errorToResponse(new NotFoundError('No such image.'), recordingLogger());

    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.body as string)).toMatchObject({ errors: [{ field: 'body.tag', reason: 'required' }] });
    expect(missing.status).toBe(404);
    expect(missing.headers).not.toHaveProperty('retry-after');
  });

  it('answers an unknown error with a generic 500 and logs its stack', () => {
    const log = recordingLogger();

    const response = errorToResponse(new TypeError('secret=hunter2 in a message'), log);

    expect(response.status).toBe(500);
    expect(response.body).not.toContain('hunter2');
    expect(log.lines[0]).toMatch(/^error unhandled error/);
  });
});
