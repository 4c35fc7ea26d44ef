import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { conversionViewSchema, listConversionsQuery, startConversionBody } from '../conversion/api.js';
import { conversionStatuses } from '../core/image.js';
import { policyApiVersion, policySchema } from '../policy/model.js';
import { evaluationBody } from '../policy/service.js';
import { complianceReportSchema } from '../reports/model.js';
import { checkIds, diagnosisSchema } from '../diagnosis/model.js';
import { startAuditBody } from './routes/audits.js';
import {
  createReportBody,
  generatedReportSchema,
  latestReportQuery,
  listReportsQuery,
  reportFormatQuery,
  reportIdParams,
} from './routes/reports.js';
import { z } from '../core/zod.js';

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the schemas the handlers validate with, so the two
 * cannot disagree. Served at GET /api/openapi.json; a test checks every HTTP function is described.
 */
export function openApiDocument(version: string): unknown {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'functionKey', {
    type: 'apiKey',
    in: 'header',
    name: 'x-functions-key',
    description: 'A function key (or `?code=`).',
  });
  registry.registerComponent('securitySchemes', 'appServiceAuthentication', {
    type: 'apiKey',
    in: 'header',
    name: 'x-ms-client-principal',
    description:
      "Set by App Service Authentication (Entra ID) after it validates the caller's token; app roles Streaming.Read, Streaming.Write, Streaming.Admin.",
  });
  const Problem = registry.register(
    'Problem',
    z
      .object({
        type: z.string(),
        title: z.string(),
        status: z.number().int(),
        detail: z.string(),
        errors: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
      })
      .openapi({ description: 'RFC 9457 problem details' }),
  );
  const Policy = registry.register('Policy', policySchema);
  const Conversion = registry.register('Conversion', conversionViewSchema);
  const PolicyResource = registry.register(
    'PolicyResource',
    z.object({
      apiVersion: z.literal(policyApiVersion),
      registry: z.string(),
      scope: z.string(),
      policy: Policy,
      createdAt: z.string(),
      createdBy: z.string(),
      updatedAt: z.string(),
      updatedBy: z.string(),
      effects: z.record(z.string(), z.unknown()).optional(),
    }),
  );
  const HistoryEntry = registry.register(
    'PolicyHistoryEntry',
    z.object({
      registry: z.string(),
      scope: z.string(),
      time: z.string(),
      principal: z.string(),
      principalName: z.string().optional().describe("the caller's name, when it differs from principal"),
      action: z.enum(['create', 'replace', 'patch', 'delete']),
      outcome: z.enum(['applied', 'precondition-failed', 'conflict', 'forbidden']),
      reason: z.string().optional().describe('why a forbidden write was refused'),
      before: Policy.optional(),
      after: Policy.optional(),
    }),
  );
  const Evaluation = registry.register(
    'PolicyEvaluation',
    z.object({
      decision: z.object({ eligible: z.boolean(), reason: z.string(), skip: z.string().optional() }),
      scope: z.string(),
      policy: Policy,
      candidates: z.array(z.string()),
      image: z
        .object({
          source: z.enum(['registry', 'hypothetical']),
          digest: z.string().optional(),
          kind: z.enum(['image', 'index', 'referrer', 'helm-chart', 'artifact']),
          platforms: z.array(z.string()),
          sizeBytes: z.number().optional(),
          tags: z.array(z.string()),
          note: z.string().optional(),
        })
        .describe("the image decided on: the registry's, when the tag or digest names one; else the request's fields"),
    }),
  );
  const page = <T extends z.ZodType>(item: T) =>
    z.object({ items: z.array(item), continuationToken: z.string().optional() });
  const json = (schema: z.ZodType, description: string) => ({
    description,
    content: { 'application/json': { schema } },
  });
  const problems = (...codes: number[]) =>
    Object.fromEntries(
      codes.map((code) => [
        code,
        { description: problemText[code] ?? 'error', content: { 'application/problem+json': { schema: Problem } } },
      ]),
    );
  const registryParam = z.object({
    registry: z.string().openapi({ description: 'a registry configured in REGISTRIES' }),
  });
  const scopeParams = registryParam.extend({
    scope: z.string().openapi({
      description: '`_default`, a glob such as `team-a/**`, or a repository; slashes stay unencoded (catch-all)',
    }),
  });
  const digestParams = registryParam.extend({ digest: z.string() });
  const repositoryQuery = z.object({
    repository: z.string().openapi({ description: 'repository names contain "/", so they travel in the query' }),
  });
  const pageQuery = z.object({ pageSize: z.number().int().optional(), continuationToken: z.string().optional() });
  const conditional = z.object({ 'if-match': z.string().optional(), 'if-none-match': z.string().optional() });
  const secured = [{ functionKey: [], appServiceAuthentication: [] }];
  const route = (config: RouteConfig): void => registry.registerPath({ security: secured, ...config });

  const HealthStatus = z.object({ status: z.enum(['ok', 'degraded']), version: z.string() });
  route({
    method: 'get',
    path: '/api/health',
    security: [],
    summary: 'ok or degraded, and the version; from a probe at most 30 s old',
    responses: {
      200: json(HealthStatus, 'storage and every registry answer'),
      503: json(HealthStatus, 'a dependency is down, or the configuration is invalid'),
    },
  });
  const HealthDetails = HealthStatus.extend({
    time: z.string(),
    config: z.record(z.string(), z.unknown()).openapi({ description: 'names and endpoints, never keys or secrets' }),
    dependencies: z.array(
      z.object({
        name: z.string(),
        status: z.enum(['up', 'down']),
        latencyMs: z.number(),
        error: z.string().optional(),
      }),
    ),
    readiness: z.array(z.record(z.string(), z.unknown())),
    alertChannels: z.array(z.record(z.string(), z.unknown())),
  });
  route({
    method: 'get',
    path: '/api/health/details',
    summary: 'Configuration summary, dependency reachability, registry readiness, alert channels (Streaming.Read)',
    responses: {
      200: json(HealthDetails, 'storage and every registry answer'),
      503: json(HealthDetails, 'a dependency is down'),
      ...problems(401, 403),
    },
  });
  route({
    method: 'get',
    path: '/api/openapi.json',
    security: [{ functionKey: [] }],
    summary: 'This document',
    responses: { 200: json(z.record(z.string(), z.unknown()), 'OpenAPI 3.1') },
  });
  route({
    method: 'post',
    path: '/api/registries/{registry}/conversions',
    summary: 'Start or adopt a conversion by hand (Streaming.Write)',
    request: { params: registryParam, body: { content: { 'application/json': { schema: startConversionBody } } } },
    responses: { 202: json(Conversion, 'the conversion record'), ...problems(400, 401, 403, 404, 413, 415) },
  });
  route({
    method: 'get',
    path: '/api/registries/{registry}/conversions',
    summary: 'List conversions (Streaming.Read)',
    request: {
      params: registryParam,
      query: listConversionsQuery.extend({ status: z.enum(conversionStatuses).optional() }),
    },
    responses: { 200: json(page(Conversion), 'a page'), ...problems(400, 401, 403, 404) },
  });
  route({
    method: 'get',
    path: '/api/registries/{registry}/conversions/{digest}',
    summary: 'One conversion (Streaming.Read)',
    request: { params: digestParams, query: repositoryQuery },
    responses: { 200: json(Conversion, 'the record'), ...problems(400, 401, 403, 404) },
  });
  route({
    method: 'post',
    path: '/api/registries/{registry}/conversions/{digest}/cancel',
    summary: 'Cancel a running conversion (Streaming.Write)',
    request: { params: digestParams, query: repositoryQuery },
    responses: { 200: json(Conversion, 'the record'), ...problems(400, 401, 403, 404) },
  });
  const Diagnosis = registry.register('Diagnosis', diagnosisSchema);
  route({
    method: 'get',
    path: '/api/registries/{registry}/diagnosis',
    summary: 'Why an image would not stream or not pull: an ordered checklist with evidence and fixes (Streaming.Read)',
    description:
      `Checks, in this order, with stable ids: ${checkIds.join(', ')}. ` +
      'Each is pass, fail, warn (could not be decided, or only partly holds), info (the notes, always present) or ' +
      'skipped (a prerequisite failed, or no cluster was named). The verdict: will-not-pull when image.exists, ' +
      'cluster.pull or cluster.network fails; will-not-stream when any other check fails; unknown when a deciding ' +
      'check could not be made; else will-stream. Reads only.',
    request: {
      params: registryParam,
      query: z.object({
        image: z.string().openapi({ description: 'repository:tag or repository@sha256:…', example: 'team-a/app:v1' }),
        cluster: z.string().optional().openapi({
          description:
            'an AKS cluster: /subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters/{name}',
        }),
      }),
    },
    responses: { 200: json(Diagnosis, 'the checklist and its verdict'), ...problems(400, 401, 403, 404) },
  });
  route({
    method: 'get',
    path: '/api/registries/{registry}/policies',
    summary: 'List policies (Streaming.Read)',
    request: { params: registryParam, query: pageQuery },
    responses: {
      200: json(page(PolicyResource.extend({ etag: z.string() })), 'a page'),
      ...problems(400, 401, 403, 404),
    },
  });
  route({
    method: 'get',
    path: '/api/registries/{registry}/policies/{scope}',
    summary: 'One policy, with its ETag (Streaming.Read)',
    request: { params: scopeParams },
    responses: { 200: json(PolicyResource, 'the policy'), ...problems(400, 401, 403, 404) },
  });
  route({
    method: 'put',
    path: '/api/registries/{registry}/policies/{scope}',
    summary: 'Create (201) or replace (200) a policy (Streaming.Write; owner or admin)',
    request: {
      params: scopeParams,
      headers: conditional,
      body: { content: { 'application/json': { schema: policySchema.partial() } } },
    },
    responses: {
      200: json(PolicyResource, 'replaced'),
      201: json(PolicyResource, 'created'),
      ...problems(400, 401, 403, 404, 412, 413, 415, 428),
    },
  });
  route({
    method: 'patch',
    path: '/api/registries/{registry}/policies/{scope}',
    summary: 'JSON merge patch of a policy; needs If-Match (Streaming.Write; owner or admin)',
    request: {
      params: scopeParams,
      headers: conditional,
      body: { content: { 'application/merge-patch+json': { schema: z.record(z.string(), z.unknown()) } } },
    },
    responses: { 200: json(PolicyResource, 'patched'), ...problems(400, 401, 403, 404, 412, 413, 415, 428) },
  });
  route({
    method: 'delete',
    path: '/api/registries/{registry}/policies/{scope}',
    summary: 'Delete a policy (Streaming.Write; owner or admin)',
    request: { params: scopeParams, headers: conditional },
    responses: { 204: { description: 'deleted' }, ...problems(400, 401, 403, 404, 412) },
  });
  route({
    method: 'get',
    path: '/api/registries/{registry}/policy-history/{scope}',
    summary: 'Every write attempt on a scope, newest first (Streaming.Read)',
    request: { params: scopeParams, query: pageQuery },
    responses: { 200: json(page(HistoryEntry), 'a page'), ...problems(400, 401, 403, 404) },
  });
  route({
    method: 'post',
    path: '/api/registries/{registry}/policy-evaluation',
    summary: 'Dry run of the decision for an image (Streaming.Read)',
    request: { params: registryParam, body: { content: { 'application/json': { schema: evaluationBody } } } },
    responses: {
      200: json(Evaluation, 'the decision and the policy that applied'),
      ...problems(400, 401, 403, 404, 413, 415),
    },
  });

  const Alert = registry.register(
    'AlertDelivery',
    z.object({
      id: z.string().openapi({ description: '{channel}.{key}; equals the webhook-id header' }),
      channel: z.string(),
      kind: z.enum(['event', 'summary']),
      registry: z.string(),
      type: z.string(),
      severity: z.string(),
      status: z.enum(['pending', 'delivered', 'failed', 'suppressed', 'summarized', 'dry-run']),
      note: z.string().optional(),
      attempts: z.number().int(),
      lastStatus: z.number().int().optional(),
      nextAttemptAt: z.string().optional(),
      deliveredAt: z.string().optional(),
      resentBy: z.string().optional().describe('who last asked for it to be sent again (object id)'),
      createdAt: z.string(),
      updatedAt: z.string(),
      event: z.record(z.string(), z.unknown()).optional(),
      window: z.string().optional(),
    }),
  );
  route({
    method: 'get',
    path: '/api/alerts',
    summary: 'Alert deliveries; status=failed lists the dead letters (Streaming.Read)',
    request: {
      query: pageQuery.extend({
        status: z.enum(['pending', 'delivered', 'failed', 'suppressed', 'summarized', 'dry-run']).optional(),
        channel: z.string().optional(),
      }),
    },
    responses: { 200: json(page(Alert), 'a page'), ...problems(400, 401, 403) },
  });
  route({
    method: 'post',
    path: '/api/alerts/{id}/resend',
    summary: 'Send an alert again with fresh attempts (Streaming.Write)',
    request: { params: z.object({ id: z.string() }) },
    responses: { 202: json(Alert, 'queued'), ...problems(400, 401, 403, 404) },
  });

  const AuditRun = registry.register(
    'AuditRun',
    z.object({
      registry: z.string(),
      runId: z.string(),
      startedAt: z.string(),
      completedAt: z.string().optional(),
      complete: z.boolean(),
      counters: z.record(z.string(), z.number()),
      requestedBy: z.string().optional().describe('who started the run by hand (object id); absent for scheduled runs'),
      cursor: z.object({ repository: z.string() }).optional(),
    }),
  );
  route({
    method: 'post',
    path: '/api/audits',
    summary: 'Start the missing-streaming-artifact audit now (Streaming.Write)',
    request: { body: { content: { 'application/json': { schema: startAuditBody } } } },
    responses: {
      202: json(z.object({ runs: z.array(z.object({ registry: z.string(), runId: z.string() })) }), 'started'),
      ...problems(400, 401, 403, 404),
    },
  });
  route({
    method: 'get',
    path: '/api/audits',
    summary: 'Recent audit runs of a registry, or of every configured one (Streaming.Read)',
    request: {
      query: z.object({
        registry: z.string().optional().openapi({ description: 'one registry; every configured one when omitted' }),
        count: z.number().int().optional(),
      }),
    },
    responses: { 200: json(z.object({ items: z.array(AuditRun) }), 'newest first'), ...problems(400, 401, 403, 404) },
  });

  const ComplianceReport = registry.register('ComplianceReport', complianceReportSchema);
  const StoredReport = registry.register('StoredReport', generatedReportSchema);
  const reportContent = {
    'application/json': { schema: ComplianceReport },
    'text/csv': { schema: z.string() },
    'text/html': { schema: z.string() },
    'text/markdown': { schema: z.string() },
  };
  route({
    method: 'post',
    path: '/api/reports',
    summary: 'Generate a compliance report now (Streaming.Write); an empty body reports every registry',
    request: { body: { content: { 'application/json': { schema: createReportBody } } } },
    responses: {
      202: json(StoredReport, 'generated and stored; `links` serve it, `latestLinks` the newest of its scope'),
      ...problems(400, 401, 403, 404, 409, 413, 415),
    },
  });
  route({
    method: 'get',
    path: '/api/reports',
    summary: 'Stored compliance reports, newest first (Streaming.Read)',
    request: { query: listReportsQuery },
    responses: { 200: json(page(StoredReport), 'a page'), ...problems(400, 401, 403, 404) },
  });
  route({
    method: 'get',
    path: '/api/reports/latest',
    summary: 'The newest compliance report of a scope as json, csv, html or md (Streaming.Read)',
    request: { query: latestReportQuery },
    responses: {
      200: {
        description: 'the report; HTML is self-contained and served with a CSP that lets nothing load or run',
        content: reportContent,
      },
      ...problems(400, 401, 403, 404),
    },
  });
  route({
    method: 'get',
    path: '/api/reports/{id}',
    summary: 'One stored compliance report by id as json, csv, html or md (Streaming.Read)',
    request: { params: reportIdParams, query: reportFormatQuery },
    responses: {
      200: {
        description: 'the report, served as /api/reports/latest serves the newest',
        content: reportContent,
      },
      ...problems(400, 401, 403, 404),
    },
  });

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'acr-streaming-autopilot',
      version,
      description: 'Makes Azure Container Registry artifact streaming automatic, observable and safe.',
    },
  });
}

const problemText: Record<number, string> = {
  400: 'invalid input; `errors` names each field',
  401: 'no function key, or no caller identity',
  403: 'the caller lacks the app role, or is not an owner',
  404: 'no such registry, policy, conversion or report',
  409: 'a report of this scope and instant already exists',
  412: 'the ETag in If-Match is stale, or If-None-Match: * on an existing policy',
  413: 'body over 64 KiB',
  415: 'not application/json',
  428: 'If-Match required',
};
