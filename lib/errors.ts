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
/** An upstream dependency (ACR, ARM, storage) failed or is unreachable. */
export class UpstreamError extends AppError {
  override readonly name = 'UpstreamError';
  readonly status: 502 | 503;
  readonly title = 'Upstream service failed';
  constructor(message: string, status: 502 | 503 = 502) {
    super(message);
    this.status = status;
  }
}
