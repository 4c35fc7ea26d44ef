import type { ZodError } from 'zod';

/**
 * The application's error taxonomy. Domain code throws these; the HTTP mapper (lib/http/problem.ts) turns them
 * into RFC 9457 problem documents. SDK errors are translated inside adapters and never reach the domain.
 */
export interface FieldProblem {
  /** JSON-pointer-like path of the failing field, e.g. `body.tag` or `query.repository`. */
  readonly field: string;
  readonly reason: string;
}

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  constructor(
    message: string,
    readonly problems: readonly FieldProblem[] = [],
  ) {
    super(message);
  }
}

export class ValidationError extends AppError {
  override readonly name = 'ValidationError';
  readonly status = 400;
  readonly title = 'Invalid request';
}
export class UnauthorizedError extends AppError {
  override readonly name = 'UnauthorizedError';
  readonly status = 401;
  readonly title = 'Unauthorized';
}
export class ForbiddenError extends AppError {
  override readonly name = 'ForbiddenError';
  readonly status = 403;
  readonly title = 'Forbidden';
}
export class NotFoundError extends AppError {
  override readonly name = 'NotFoundError';
  readonly status = 404;
  readonly title = 'Not found';
}
export class ConflictError extends AppError {
  override readonly name = 'ConflictError';
  readonly status = 409;
  readonly title = 'Conflict';
}
export class PreconditionFailedError extends AppError {
  override readonly name = 'PreconditionFailedError';
  readonly status = 412;
  readonly title = 'Precondition failed';
}
export class PayloadTooLargeError extends AppError {
  override readonly name = 'PayloadTooLargeError';
  readonly status = 413;
  readonly title = 'Payload too large';
}
export class UnsupportedMediaTypeError extends AppError {
  override readonly name = 'UnsupportedMediaTypeError';
  readonly status = 415;
  readonly title = 'Unsupported media type';
}
export class PreconditionRequiredError extends AppError {
  override readonly name = 'PreconditionRequiredError';
  readonly status = 428;
  readonly title = 'Precondition required';
}
export type UpstreamService = 'ACR' | 'Azure Storage' | 'Azure Resource Manager';

/**
 * A service the app depends on failed: 503 when trying again later can help (no answer, throttling, a server
 * fault), with how long to wait; 502 when it refused the app's request (its identity lacks a role, say), which
 * retrying does not mend. The HTTP mapper (lib/http/problem.ts) makes one from ACR and Azure SDK errors.
 */
export class UpstreamError extends AppError {
  override readonly name = 'UpstreamError';
  readonly title: string;
  constructor(
    message: string,
    readonly status: 502 | 503,
    readonly service: UpstreamService,
    /** For 503: when to try again, in whole seconds (the service's own `Retry-After` where it sent one). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.title = status === 503 ? `${service} is unavailable` : `${service} refused the request`;
  }
}

/**
 * A failed ACR call, mapped by status and ACR error code (never by message text). Carries what support needs —
 * the code and the correlation id — and never a token.
 */
export class AcrError extends Error {
  override readonly name = 'AcrError';
  constructor(
    message: string,
    readonly details: {
      readonly status: number;
      /**
       * ACR's error code, e.g. `OPERATION_UNKNOWN`, `UNAUTHORIZED`, `DENIED`, `MANIFEST_UNKNOWN`; `NETWORK` when no
       * answer came.
       */
      readonly code: string;
      readonly correlationId: string | undefined;
      /** `errors[0].detail.reason` when ACR gives one (e.g. why a start was denied). */
      readonly reason?: string;
      /** ACR's `Retry-After` on the final answer (429, 503), in milliseconds. */
      readonly retryAfterMs?: number;
      readonly method: string;
      readonly path: string;
    },
  ) {
    super(message);
  }

  get status(): number {
    return this.details.status;
  }
  get code(): string {
    return this.details.code;
  }

  /** Worth retrying later: throttling, server faults, no answer at all. */
  get transient(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

export function isAcrError(error: unknown, code?: string): error is AcrError {
  return error instanceof AcrError && (code === undefined || error.code === code);
}

/** Turns a zod failure on a request part into a ValidationError naming each field. */
export function validationErrorFrom(error: ZodError, part: 'body' | 'query' | 'params' | 'headers'): ValidationError {
  const problems = error.issues.map((issue) => ({
    field: [part, ...issue.path.map(String)].join('.'),
    reason: issue.message,
  }));
  const summary = problems.map((problem) => `${problem.field}: ${problem.reason}`).join('; ');
  return new ValidationError(`Invalid ${part}: ${summary}`, problems);
}
