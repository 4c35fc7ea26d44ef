import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { auditHttp } from '../lib/audit/http.js';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
  const deps = getDependencies();
  return auditHttp.list(request, context, {
    audit: deps.imageAudit,
    store: deps.auditStore,
    registries: deps.config.registries.map((registry) => registry.name),
  });
};

/** Recent audit runs of a registry with their counters: `GET /api/audits?registry=` (Streaming.Read). */
export const listAudits: HttpFunction = {
  name: 'listAudits',
  trigger: { type: 'http', route: 'audits', methods: ['GET'], authLevel: 'function' },
  handler,
};
