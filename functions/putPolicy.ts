import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { policyHttp } from '../lib/policy/http.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
  policyHttp.put(request, context, getDependencies().policyHttp);

/** Creates (201) or replaces (200, needs If-Match) a policy (Streaming.Write; owners or admin). */
export const putPolicy: HttpFunction = {
  name: 'putPolicy',
  trigger: { type: 'http', route: 'registries/{registry}/policies/{*scope}', methods: ['PUT'], authLevel: 'function' },
  handler,
};
