import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { NotFoundError } from '../core/errors.js';
import { requirePrincipal } from '../http/principal.js';
import { parseJsonBody, parseParts, queryObject, respond } from '../http/request.js';
import type { ImageAudit } from './images.js';
import type { AuditStore } from './ports.js';
import { registryNameSchema } from '../core/registries.js';

export const startAuditBody = z.object({ registry: registryNameSchema.optional() }).strict();
const listQuery = z
  .object({ registry: registryNameSchema, count: z.coerce.number().int().min(1).max(100).default(30) })
  .strict();

export interface AuditHttpDependencies {
  readonly audit: ImageAudit;
  readonly store: AuditStore;
  readonly registries: readonly string[];
}

export const auditHttp = {
  start: (request: HttpRequest, context: InvocationContext, deps: AuditHttpDependencies): Promise<HttpResponseInit> =>
    respond(context, async () => {
      requirePrincipal(request, 'Streaming.Write');
      const body =
        request.headers.get('content-length') === '0' || !request.body
          ? {}
          : await parseJsonBody(request, startAuditBody);
      const registries = body.registry ? [body.registry] : deps.registries;
      if (body.registry && !deps.registries.includes(body.registry))
        throw new NotFoundError(`Registry ${body.registry} is not configured.`, [
          { field: 'body.registry', reason: 'not a configured registry' },
        ]);
      const runs = [];
      for (const registry of registries) runs.push({ registry, runId: await deps.audit.start(registry, context) });
      return { status: 202, jsonBody: { runs } };
    }),
  list: (request: HttpRequest, context: InvocationContext, deps: AuditHttpDependencies): Promise<HttpResponseInit> =>
    respond(context, async () => {
      requirePrincipal(request, 'Streaming.Read');
      const query = parseParts(queryObject(request), listQuery, 'query');
      if (!deps.registries.includes(query.registry))
        throw new NotFoundError(`Registry ${query.registry} is not configured.`, [
          { field: 'query.registry', reason: 'not a configured registry' },
        ]);
      return { status: 200, jsonBody: { items: await deps.store.recentRuns(query.registry, query.count) } };
    }),
};
