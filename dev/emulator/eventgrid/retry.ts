/**
 * Event Grid's webhook retry rules (delivery-and-retry.md): success only on 200–204; 400/413/401/403 are not
 * retried; otherwise the fixed schedule below, with per-status minimums (408 ≥ 2 min, 503 ≥ 30 s).
 * Real Event Grid adds jitter and may skip steps for unhealthy endpoints; the emulator does neither so tests are exact.
 */
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export const RETRY_SCHEDULE_MS: readonly number[] = [
  10 * SECOND,
  30 * SECOND,
  MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  30 * MINUTE,
  HOUR,
  3 * HOUR,
  6 * HOUR,
];
export const LATE_RETRY_MS = 12 * HOUR;

/** A delivery attempt's result: an HTTP status, or a transport failure (no status). */
export type AttemptResult =
  { readonly status: number } | { readonly failure: 'TimedOut' | 'NetworkError'; readonly message: string };

export type Verdict =
  | { readonly kind: 'success' }
  | { readonly kind: 'undeliverable'; readonly deadLetterReason: string }
  | { readonly kind: 'retry'; readonly delayMs: number };

/**
 * Non-retried statuses and the dead-letter reason recorded for them. `UndeliverableDueToHttpBadRequest` is the
 * observed value for 400; the others follow the same pattern (not observed).
 */
const UNDELIVERABLE: Readonly<Record<number, string>> = {
  400: 'UndeliverableDueToHttpBadRequest',
  401: 'UndeliverableDueToHttpUnauthorized',
  403: 'UndeliverableDueToHttpForbidden',
  413: 'UndeliverableDueToHttpRequestEntityTooLarge',
};

/** `attempt` is 1-based: the number of attempts made so far. */
export function judge(result: AttemptResult, attempt: number): Verdict {
  if ('status' in result) {
    if (result.status >= 200 && result.status <= 204) return { kind: 'success' };
    const reason = UNDELIVERABLE[result.status];
    if (reason !== undefined) return { kind: 'undeliverable', deadLetterReason: reason };
  }
  const scheduled = RETRY_SCHEDULE_MS[attempt - 1] ?? LATE_RETRY_MS;
  const status = 'status' in result ? result.status : undefined;
  const minimum = status === 408 ? 2 * MINUTE : status === 503 ? 30 * SECOND : 0;
  return { kind: 'retry', delayMs: Math.max(scheduled, minimum) };
}

const OUTCOMES: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  408: 'TimedOut',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  501: 'NotImplemented',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** `lastDeliveryOutcome` text for dead-letter records and the delivery log. */
export function outcomeName(result: AttemptResult): string {
  if (!('status' in result)) return result.failure;
  if (result.status >= 200 && result.status <= 204) return 'Succeeded';
  return OUTCOMES[result.status] ?? 'GenericError';
}
