import {
  createDefaultHttpClient,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  isRestError,
  retryPolicy,
  type HttpClient,
  type RetryStrategy,
} from '@azure/core-rest-pipeline';
import pLimit, { type LimitFunction } from 'p-limit';
import { AcrError } from '../core/errors.js';
import { retryAfterMs } from '../core/retry-after.js';
import { acrErrorBody } from '../core/acr.js';

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
  }

  send(request: RawRequest): Promise<RawResponse> {
    return this.limit(() => this.sendNow(request));
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
      throw networkError(error, request);
    } finally {
      this.idempotency.delete(pipelineRequest.requestId);
      this.notAfter.delete(pipelineRequest.requestId);
    }
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
