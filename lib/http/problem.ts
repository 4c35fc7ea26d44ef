import type { HttpResponseInit } from '@azure/functions';
import { AppError, type FieldProblem } from '../core/errors.js';
import type { Logger } from '../core/logging.js';

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
): HttpResponseInit {
  const body: ProblemDocument = {
    type: 'about:blank',
    title,
    status,
    detail,
    ...(errors.length > 0 ? { errors } : {}),
  };
  return { status, headers: { 'content-type': problemContentType }, body: JSON.stringify(body) };
}

/**
 * Maps any error to a response. Known errors keep their status and fields; anything else is logged in full and
 * answered with a generic 500 so internals (and possibly secrets inside messages) never reach the caller.
 */
export function errorToResponse(error: unknown, log: Logger): HttpResponseInit {
  if (error instanceof AppError) {
    if (error.status >= 500) log.error(`request failed upstream: ${error.message}`);
    return problemResponse(error.status, error.title, error.message, error.problems);
  }
  log.error('unhandled error', error instanceof Error ? (error.stack ?? error.message) : String(error));
  return problemResponse(500, 'Internal error', 'The request failed unexpectedly; the details are in the logs.');
}
