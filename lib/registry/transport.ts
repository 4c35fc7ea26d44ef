import {
  createDefaultHttpClient,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  isRestError,
  retryPolicy,
  type HttpClient,
  type PipelinePolicy,
  type RetryStrategy,
} from '@azure/core-rest-pipeline';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit, { type LimitFunction } from 'p-limit';
import { AcrError } from '../core/errors.js';
import { retryAfterMs } from '../core/retry-after.js';
import { acrErrorBody } from '../core/acr.js';
import type { RegistryThrottle } from './throttle.js';

export interface RetrySettings {
  /** Retries after the first attempt. */
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const defaultRetrySettings: RetrySettings = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

export interface TransportOptions {
  readonly baseUrl: string;
  readonly retry?: Partial<RetrySettings>;
  /** Requests in flight at once to this registry (ACR throttles per registry). */
  readonly concurrency?: number;
  /** Replaces the HTTP client (tests; custom TLS trust). */
  readonly httpClient?: HttpClient;
  /**
   * The registry's "throttled until", shared by every instance (lib/registry/throttle.ts): each attempt waits for it,
   * and a 429 extends it. Without it only the request that met the 429 waits (today's per-request backoff).
   */
  readonly throttle?: RegistryThrottle;
  /** Observes every retry, for logs and throttling metrics. */
  readonly onRetry?: (event: {
    method: string;
    path: string;
    status: number;
    delayMs: number;
    attempt: number;
  }) => void;
}

export interface RawRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query, e.g. `/acr/v1/repo/_streaming/sha256:…`. */
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /**
   * Whether repeating the request after a server fault or a dropped connection is safe. Starting a conversion is
   * not blindly repeated: the caller re-checks remote state first (GET before POST) and decides again.
   */
  readonly idempotent: boolean;
  /**
   * Epoch ms after which no retry may start (a wait for `Retry-After` included): a call made under a lease must not
   * outlast it, or another worker may take over and repeat it.
   */
  readonly notAfter?: number;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly bodyText: string;
}

/**
 * HTTP to one registry through the Azure SDK's pipeline (its Node client, TLS and proxy handling) with a retry
 * strategy of our own: 429 waits for `Retry-After`; 5xx, 408 and connection failures back off exponentially with
 * full jitter — for idempotent requests only — and a per-registry concurrency limit caps what is in flight.
 */
export class RegistryTransport {
  private readonly pipeline = createEmptyPipeline();
  private readonly httpClient: HttpClient;
  private readonly limit: LimitFunction;
  private readonly retry: RetrySettings;
  /** Request ids in flight → whether they may be repeated after a fault (the strategy sees only the request). */
  private readonly idempotency = new Map<string, boolean>();
  private readonly notAfter = new Map<string, number>();

  constructor(private readonly options: TransportOptions) {
    this.retry = { ...defaultRetrySettings, ...options.retry };
    this.httpClient = options.httpClient ?? createDefaultHttpClient();
    this.limit = pLimit(options.concurrency ?? 8);
    this.pipeline.addPolicy(retryPolicy([this.strategy()], { maxRetries: this.retry.maxRetries }));
    // Added after the retry policy, so it runs around every attempt, the first and each retry.
    if (options.throttle) this.pipeline.addPolicy(this.throttlePolicy(options.throttle));
  }

  send(request: RawRequest): Promise<RawResponse> {
    return this.limit(() => this.sendNow(request));
  }

  /**
   * Fails at once, sending nothing, when the registry is throttled until the request's `notAfter` or later (the 429
   * {@link send} would give after waiting for nothing): lets a caller skip the work before the request (a token).
   */
  async refuseIfThrottledPastLimit(request: RawRequest): Promise<void> {
    if (this.options.throttle === undefined || request.notAfter === undefined) return;
    const until = await this.options.throttle.throttledUntil();
    if (until > Date.now() && until >= request.notAfter) throw notSentError(request, until);
  }

  private async sendNow(request: RawRequest): Promise<RawResponse> {
    const pipelineRequest = createPipelineRequest({
      url: `${this.options.baseUrl}${request.path}`,
      method: request.method,
      headers: createHttpHeaders(request.headers),
      body: request.body,
      timeout: 60_000,
    });
    // Lets ACR's logs be matched with ours.
    pipelineRequest.headers.set('x-ms-client-request-id', pipelineRequest.requestId);
    this.idempotency.set(pipelineRequest.requestId, request.idempotent);
    if (request.notAfter !== undefined) this.notAfter.set(pipelineRequest.requestId, request.notAfter);
    try {
      const response = await this.pipeline.sendRequest(this.httpClient, pipelineRequest);
      const headers = new Map<string, string>();
      for (const [name, value] of response.headers) headers.set(name.toLowerCase(), value);
      return { status: response.status, headers, bodyText: response.bodyAsText ?? '' };
    } catch (error) {
      if (error instanceof NotSentWhileThrottled) throw notSentError(request, error.until);
      throw networkError(error, request);
    } finally {
      this.idempotency.delete(pipelineRequest.requestId);
      this.notAfter.delete(pipelineRequest.requestId);
    }
  }

  /**
   * Waits until the registry's shared "throttled until" has passed before an attempt goes out, and shares the wait a
   * 429 asks for (its `Retry-After`, RFC 9110 §10.2.3, else {@link unannouncedThrottleMs}). A wait that would end at
   * or after the caller's `notAfter` (its lease) is not made and nothing is sent: the caller gets a 429 back.
   */
  private throttlePolicy(throttle: RegistryThrottle): PipelinePolicy {
    return {
      name: 'acrSharedThrottle',
      sendRequest: async (request, next) => {
        const limit = this.notAfter.get(request.requestId);
        // The record may move later while this attempt waits (another instance met a 429): look again after waiting.
        for (let until = await throttle.throttledUntil(); until > Date.now(); until = await throttle.throttledUntil()) {
          if (limit !== undefined && until >= limit) throw new NotSentWhileThrottled(until);
          await sleep(until - Date.now());
        }
        const response = await next(request);
        if (response.status === 429)
          throttle.throttled(Date.now() + (retryAfterMs(response.headers.get('retry-after')) ?? unannouncedThrottleMs));
        return response;
      },
    };
  }

  private strategy(): RetryStrategy {
    const { baseDelayMs, maxDelayMs } = this.retry;
    const backoff = (retryCount: number): number => Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** retryCount);
    return {
      name: 'acrRetry',
      retry: ({ response, responseError, retryCount }) => {
        const request = response?.request ?? responseError?.request;
        const idempotent = request ? (this.idempotency.get(request.requestId) ?? false) : false;
        const status = response?.status ?? responseError?.statusCode ?? 0;
        let delayMs: number | undefined;
        if (status === 429) delayMs = retryAfterMs(response?.headers.get('retry-after')) ?? backoff(retryCount);
        else if (response === undefined && responseError !== undefined && idempotent) delayMs = backoff(retryCount);
        else if ((status >= 500 || status === 408) && idempotent)
          delayMs = retryAfterMs(response?.headers.get('retry-after')) ?? backoff(retryCount);
        if (delayMs === undefined) return { skipStrategy: true };
        // A retry that would start after the caller's limit (its lease) is not made: the answer so far is returned.
        const limit = request ? this.notAfter.get(request.requestId) : undefined;
        if (limit !== undefined && Date.now() + delayMs >= limit) return { skipStrategy: true };
        if (request)
          this.options.onRetry?.({
            method: request.method,
            path: new URL(request.url).pathname,
            status,
            delayMs,
            attempt: retryCount + 1,
          });
        return { retryAfterInMs: delayMs };
      },
    };
  }
}

/** How long a 429 without `Retry-After` makes every instance wait for the registry. */
export const unannouncedThrottleMs = 1_000;

/** An attempt not made: the registry is throttled past the caller's `notAfter`. Not a RestError: no retry sees it. */
class NotSentWhileThrottled extends Error {
  constructor(readonly until: number) {
    super(`throttled until ${new Date(until).toISOString()}`);
  }
}

/** A request held back by the shared throttle answers like ACR's own 429, so callers treat it the same way. */
function notSentError(request: RawRequest, until: number): AcrError {
  return new AcrError(
    `${request.method} ${pathOnly(request.path)} not sent: the registry is throttled until ${new Date(until).toISOString()}, after the caller's limit`,
    {
      status: 429,
      code: 'TOOMANYREQUESTS',
      correlationId: undefined,
      retryAfterMs: Math.max(0, until - Date.now()),
      method: request.method,
      path: pathOnly(request.path),
    },
  );
}

function networkError(error: unknown, request: RawRequest): AcrError {
  const status = isRestError(error) ? (error.statusCode ?? 0) : 0;
  const reason = error instanceof Error ? error.message : String(error);
  return new AcrError(`${request.method} ${pathOnly(request.path)} got no answer: ${reason}`, {
    status,
    code: 'NETWORK',
    correlationId: undefined,
    method: request.method,
    path: pathOnly(request.path),
  });
}

/** Maps an unexpected status to an AcrError with ACR's code and correlation id. */
export function responseError(request: RawRequest, response: RawResponse, what: string): AcrError {
  let code = `HTTP_${response.status}`;
  let message = '';
  let reason: string | undefined;
  try {
    const body = acrErrorBody.safeParse(JSON.parse(response.bodyText));
    if (body.success) {
      const first = body.data.errors[0]!;
      code = first.code;
      message = first.message ?? '';
      const detail = first.detail as { reason?: unknown } | null | undefined;
      if (detail && typeof detail === 'object' && typeof detail.reason === 'string') reason = detail.reason;
    }
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): the status says enough.
  }
  const retryAfter = retryAfterMs(response.headers.get('retry-after'));
  return new AcrError(
    `${what}: ${request.method} ${pathOnly(request.path)} answered ${response.status} ${code}${message ? ` (${message})` : ''}`,
    {
      status: response.status,
      code,
      correlationId: response.headers.get('x-ms-correlation-request-id') ?? response.headers.get('x-ms-request-id'),
      ...(reason === undefined ? {} : { reason }),
      ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
      method: request.method,
      path: pathOnly(request.path),
    },
  );
}

function pathOnly(path: string): string {
  const query = path.indexOf('?');
  return query < 0 ? path : path.slice(0, query);
}
