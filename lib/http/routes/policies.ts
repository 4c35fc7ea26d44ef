import type { HttpRequest } from '@azure/functions';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { registryNameSchema } from '../../core/registries.js';
import { z } from '../../core/zod.js';
import { defaultScope } from '../../policy/scope.js';
import { evaluationBody, type Conditions, type PolicyService } from '../../policy/service.js';
import { requireCaller, requirePrincipal } from '../principal.js';
import { parseJsonBody, parseParts, queryObject } from '../request.js';
import type { HttpRoute } from '../route.js';

/** What the policy routes need; the composition root provides it. */
export interface PolicyRouteDependencies {
  readonly policies: PolicyService;
  /** The configured registries (REGISTRIES), by name. */
  readonly registryNames: readonly string[];
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
  deps: PolicyRouteDependencies,
  needsScope: boolean,
): { registry: string; scope: string } {
  const { registry, scope } = parseParts(request.params, registryParams, 'params');
  if (!deps.registryNames.includes(registry))
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

type PolicyRoute = HttpRoute<PolicyRouteDependencies>;

/** Policy CRUD with ETags, history and dry-run evaluation, under `registries/{registry}/…`. */
export const policyRoutes = {
  list: (async (request, _context, deps) => {
    requirePrincipal(request, 'Streaming.Read');
    const { registry } = target(request, deps, false);
    return { status: 200, jsonBody: await deps.policies.list(registry, page(request)) };
  }) satisfies PolicyRoute,

  get: (async (request, _context, deps) => {
    requirePrincipal(request, 'Streaming.Read');
    const { registry, scope } = target(request, deps, true);
    const { resource, etag } = await deps.policies.get(registry, scope);
    return { status: 200, jsonBody: resource, headers: { etag } };
  }) satisfies PolicyRoute,

  // Writes take any signed-in caller: the service refuses what the caller may not do and records the refusal.
  put: (async (request, context, deps) => {
    const principal = requireCaller(request);
    const { registry, scope } = target(request, deps, true);
    const body = await parseJsonBody(request, z.unknown());
    const result = await deps.policies.put(registry, scope, body, conditions(request), principal, context);
    return { status: result.created ? 201 : 200, jsonBody: result.resource, headers: { etag: result.etag } };
  }) satisfies PolicyRoute,

  patch: (async (request, context, deps) => {
    const principal = requireCaller(request);
    const { registry, scope } = target(request, deps, true);
    const body = await parseJsonBody(request, z.unknown());
    const result = await deps.policies.patch(registry, scope, body, conditions(request), principal, context);
    return { status: 200, jsonBody: result.resource, headers: { etag: result.etag } };
  }) satisfies PolicyRoute,

  delete: (async (request, context, deps) => {
    const principal = requireCaller(request);
    const { registry, scope } = target(request, deps, true);
    await deps.policies.delete(registry, scope, conditions(request), principal, context);
    return { status: 204 };
  }) satisfies PolicyRoute,

  history: (async (request, _context, deps) => {
    requirePrincipal(request, 'Streaming.Read');
    const { registry, scope } = target(request, deps, true);
    return { status: 200, jsonBody: await deps.policies.history(registry, scope, page(request)) };
  }) satisfies PolicyRoute,

  evaluate: (async (request, context, deps) => {
    requirePrincipal(request, 'Streaming.Read');
    const { registry } = target(request, deps, false);
    const body = await parseJsonBody(request, evaluationBody);
    return { status: 200, jsonBody: await deps.policies.evaluate(registry, body, context) };
  }) satisfies PolicyRoute,
};
