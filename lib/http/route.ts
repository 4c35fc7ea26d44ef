import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { ForbiddenError } from '../core/errors.js';
import { principalOf } from './principal.js';
import { errorToResponse } from './problem.js';

/**
 * The one shape of every HTTP function: parse and authorize the request, call one use case, answer. A route throws
 * the app's errors (lib/core/errors.ts) and leaves mapping them to {@link serve}; it gets what it needs as a plain
 * parameter, so a test hands it a service and an in-memory store.
 */
export type HttpRoute<Dependencies> = (
  request: HttpRequest,
  context: InvocationContext,
  dependencies: Dependencies,
) => Promise<HttpResponseInit>;

/**
 * Binds a route to its dependencies (the composition root in functions/, imported on first use; anything in tests)
 * and maps every error, including one while importing or building the dependencies, to an RFC 9457 problem document:
 * known errors keep their status and fields, upstream failures become 502/503 with a retry hint, anything else a
 * logged, generic 500.
 */
export function serve<Dependencies>(
  route: HttpRoute<Dependencies>,
  dependencies: () => Dependencies | Promise<Dependencies>,
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  return async (request, context) => {
    try {
      return await route(request, context, await dependencies());
    } catch (error) {
      // Every refusal leaves a trace (issue #17 § 2): who was refused what, and why; never the request's body.
      if (error instanceof ForbiddenError) {
        const caller = principalOf(request);
        context.warn(
          `${request.method} ${new URL(request.url).pathname} refused for ${caller?.id ?? 'an unknown caller'}: ` +
            error.problems.map((problem) => `${problem.field}: ${problem.reason}`).join('; '),
          { caller: caller?.id, callerName: caller?.name, function: context.functionName },
        );
      }
      return errorToResponse(error, context);
    }
  };
}
