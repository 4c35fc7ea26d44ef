import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from '../core/zod.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { requirePrincipal } from '../http/principal.js';
import { parseJsonBody, parseParts, queryObject, respond } from '../http/request.js';
import { defaultScope } from './scope.js';
import { evaluationBody, type Conditions, type PolicyService } from './service.js';
import { registryNameSchema } from '../core/registries.js';

/** What the policy routes need; the composition root provides it. */
export interface PolicyHttpDependencies {
  readonly policies: PolicyService;
  readonly registries: readonly string[];
}

const registryParams = z
  .object({
    registry: registryNameSchema,
    scope: z.string().max(512).optional(),
  })
  .strict();
const pageQuery = z
  .object({
    pageSize: z.coerce.number().int().min(1).max(1_000).default(100),
    continuationToken: z.string().max(2_048).optional(),
  })
  .strict();

function target(
  request: HttpRequest,
  deps: PolicyHttpDependencies,
  needsScope: boolean,
): { registry: string; scope: string } {
  const { registry, scope } = parseParts(request.params, registryParams, 'params');
  if (!deps.registries.includes(registry))
    throw new NotFoundError(`Registry ${registry} is not configured.`, [
      { field: 'params.registry', reason: 'not a configured registry' },
    ]);
  if (needsScope && (scope === undefined || scope === ''))
    throw new ValidationError(`Name a scope: ${defaultScope}, a glob such as team-a/**, or a repository.`, [
      { field: 'params.scope', reason: 'required' },
    ]);
  return { registry, scope: scope ?? '' };
}

function conditions(request: HttpRequest): Conditions {
  const ifMatch = request.headers.get('if-match') ?? undefined;
  const ifNoneMatch = request.headers.get('if-none-match') ?? undefined;
  return { ...(ifMatch ? { ifMatch } : {}), ...(ifNoneMatch ? { ifNoneMatch } : {}) };
}

function page(request: HttpRequest) {
  const { pageSize, continuationToken } = parseParts(queryObject(request), pageQuery, 'query');
  return { pageSize, ...(continuationToken ? { continuationToken } : {}) };
}

export const policyHttp = {
  list: (request: HttpRequest, context: InvocationContext, deps: PolicyHttpDependencies): Promise<HttpResponseInit> =>
    respond(context, async () => {
      requirePrincipal(request, 'Streaming.Read');
      const { registry } = target(request, deps, false);
      return { status: 200, jsonBody: await deps.policies.list(registry, page(request)) };
    }),

  get: (request: HttpRequest, context: InvocationContext, deps: PolicyHttpDependencies): Promise<HttpResponseInit> =>
    respond(context, async () => {
      requirePrincipal(request, 'Streaming.Read');
      const { registry, scope } = target(request, deps, true);
      const { resource, etag } = await deps.policies.get(registry, scope);
      return { status: 200, jsonBody: resource, headers: { etag } };
    }),

  put: (request: HttpRequest, context: InvocationContext, deps: PolicyHttpDependencies): Promise<HttpResponseInit> =>
    respond(context, async () => {
      const principal = requirePrincipal(request, 'Streaming.Write');
      const { registry, scope } = target(request, deps, true);
      const body = await parseJsonBody(request, z.unknown());
      const result = await deps.policies.put(registry, scope, body, conditions(request), principal, context);
      return { status: result.created ? 201 : 200, jsonBody: result.resource, headers: { etag: result.etag } };
    }),

  patch: (request: HttpRequest, context: InvocationContext, deps: PolicyHttpDependencies): Promise<HttpResponseInit> =>
    respond(context, async () => {
      const principal = requirePrincipal(request, 'Streaming.Write');
      const { registry, scope } = target(request, deps, true);
      const body = await parseJsonBody(request, z.unknown());
      const result = await deps.policies.patch(registry, scope, body, conditions(request), principal, context);
      return { status: 200, jsonBody: result.resource, headers: { etag: result.etag } };
    }),

  delete: (request: HttpRequest, context: InvocationContext, deps: PolicyHttpDependencies): Promise<HttpResponseInit> =>
    respond(context, async () => {
      const principal = requirePrincipal(request, 'Streaming.Write');
      const { registry, scope } = target(request, deps, true);
      await deps.policies.delete(registry, scope, conditions(request), principal, context);
      return { status: 204 };
    }),

  history: (
    request: HttpRequest,
    context: InvocationContext,
    deps: PolicyHttpDependencies,
  ): Promise<HttpResponseInit> =>
    respond(context, async () => {
      requirePrincipal(request, 'Streaming.Read');
      const { registry, scope } = target(request, deps, true);
      return { status: 200, jsonBody: await deps.policies.history(registry, scope, page(request)) };
    }),

  evaluate: (
    request: HttpRequest,
    context: InvocationContext,
    deps: PolicyHttpDependencies,
  ): Promise<HttpResponseInit> =>
    respond(context, async () => {
      requirePrincipal(request, 'Streaming.Read');
      const { registry } = target(request, deps, false);
      const body = await parseJsonBody(request, evaluationBody);
      return { status: 200, jsonBody: await deps.policies.evaluate(registry, body, context) };
    }),
};
