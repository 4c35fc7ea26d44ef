import type { HttpResponseInit } from '@azure/functions';
import { isRestError, type RestError } from '@azure/core-rest-pipeline';
import { AcrError, AppError, UpstreamError, type FieldProblem } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import { retryAfterMs } from '../core/retry-after.js';
import { ConfigurationError } from '../config.js';

export const problemContentType = 'application/problem+json';

/** RFC 9457 problem document with the failing fields; `errors` is this API's extension member. */
export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors?: readonly FieldProblem[];
}

export function problemResponse(
  status: number,
  title: string,
  detail: string,
  errors: readonly FieldProblem[] = [],
  retryAfterSeconds?: number,
): HttpResponseInit {
  const body: ProblemDocument = {
    type: 'about:blank',
    title,
    status,
    detail,
    ...(errors.length > 0 ? { errors } : {}),
  };
  const headers: Record<string, string> = { 'content-type': problemContentType };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  return { status, headers, body: JSON.stringify(body) };
}

/**
 * Maps any error to a response. Known errors keep their status and fields; a failure of ACR, Azure Storage or ARM is
 * a 503 with `Retry-After` when waiting can help, else a 502 (see {@link upstreamErrorOf}); anything else is logged
 * in full and answered with a generic 500 so internals (and possibly secrets inside messages) never reach the caller.
 */
export function errorToResponse(error: unknown, log: Logger): HttpResponseInit {
  // The app cannot work until its settings are fixed: say which and why (the problems never carry values).
  if (error instanceof ConfigurationError) {
    log.error(error.message);
    return problemResponse(
      503,
      'Invalid configuration',
      `The app's configuration is invalid (${error.problems.length} problem(s)); an operator must fix its app settings.`,
      error.problems.map((text) => {
        const colon = text.indexOf(': ');
        return colon > 0
          ? { field: text.slice(0, colon), reason: text.slice(colon + 2) }
          : { field: 'configuration', reason: text };
      }),
    );
  }
  const known = error instanceof AppError ? error : upstreamErrorOf(error);
  if (known instanceof UpstreamError) {
    log.warn(`request failed upstream: ${known.message}`, { service: known.service, status: known.status });
    return problemResponse(known.status, known.title, known.message, known.problems, known.retryAfterSeconds);
  }
  if (known !== undefined) {
    if (known.status >= 500) log.error(`request failed upstream: ${known.message}`);
    return problemResponse(known.status, known.title, known.message, known.problems);
  }
  log.error('unhandled error', error instanceof Error ? (error.stack ?? error.message) : String(error));
  return problemResponse(500, 'Internal error', 'The request failed unexpectedly; the details are in the logs.');
}

/** Waits suggested when a throttled or failing service gave no `Retry-After` of its own, in seconds. */
const defaultRetryAfterSeconds = { throttled: 30, unavailable: 10 };

/**
 * Translates a dependency's failure, by status (never by message text): no answer, 408, 429 and 5xx are
 * transient (503 + `Retry-After`); ACR refusing the request, or Azure refusing the app's identity (401/403), is a
 * 502 that names the service. Any other Azure SDK error (a 400 for a malformed request, say) is a bug of ours and
 * stays a 500. The detail is built from status, code and correlation id, never from the service's free text.
 */
export function upstreamErrorOf(error: unknown): UpstreamError | undefined {
  if (error instanceof AcrError) {
    const answered = error.status === 0 ? 'did not answer' : `answered ${error.status} ${error.code}`;
    const what = `ACR ${answered} to ${error.details.method} ${error.details.path}${correlation(error.details.correlationId)}`;
    if (!error.transient)
      return new UpstreamError(`${what}. Check the app's role assignments on the registry.`, 502, 'ACR');
    const seconds = waitSeconds(error.details.retryAfterMs, error.status);
    return new UpstreamError(`${what}. Try again in ${seconds} s.`, 503, 'ACR', seconds);
  }
  if (isRestError(error)) {
    const service = serviceOf(error);
    const status = error.statusCode ?? 0;
    const answered = status === 0 ? 'did not answer' : `answered ${status}${error.code ? ` ${error.code}` : ''}`;
    const what = `${service} ${answered}${correlation(error.response?.headers.get('x-ms-request-id') ?? error.request?.requestId)}`;
    if (status === 0 || status === 408 || status === 429 || status >= 500) {
      const seconds = waitSeconds(retryAfterMs(error.response?.headers.get('retry-after')), status);
      return new UpstreamError(`${what}. Try again in ${seconds} s.`, 503, service, seconds);
    }
    if (status === 401 || status === 403)
      return new UpstreamError(`${what}: check the app identity's role assignments.`, 502, service);
  }
  return undefined;
}

function waitSeconds(retryAfter: number | undefined, status: number): number {
  if (retryAfter !== undefined) return Math.max(1, Math.ceil(retryAfter / 1000));
  return status === 429 ? defaultRetryAfterSeconds.throttled : defaultRetryAfterSeconds.unavailable;
}

function correlation(id: string | undefined): string {
  return id ? ` (correlation id ${id})` : '';
}

/** Resource Manager paths start at a subscription or a provider; everything else the SDKs reach is storage. */
function serviceOf(error: RestError): 'Azure Storage' | 'Azure Resource Manager' {
  const url = error.request?.url;
  const path = url && URL.canParse(url) ? new URL(url).pathname : '';
  return /^\/(subscriptions|providers)\//i.test(path) ? 'Azure Resource Manager' : 'Azure Storage';
}
