import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { auditHttp } from '../lib/audit/http.js';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
  const deps = getDependencies();
  return auditHttp.start(request, context, {
    audit: deps.imageAudit,
    store: deps.auditStore,
    registries: deps.config.registries.map((registry) => registry.name),
  });
};

/** Starts an audit now: `{ "registry"? }` → 202 with the run ids (Streaming.Write). */
export const createAudit: HttpFunction = {
  name: 'createAudit',
  trigger: { type: 'http', route: 'audits', methods: ['POST'], authLevel: 'function' },
  handler,
};
