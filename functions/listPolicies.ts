import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { policyHttp } from '../lib/policy/http.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
  policyHttp.list(request, context, getDependencies().policyHttp);

/** Policies of a registry, paged (Streaming.Read). */
export const listPolicies: HttpFunction = {
  name: 'listPolicies',
  trigger: { type: 'http', route: 'registries/{registry}/policies', methods: ['GET'], authLevel: 'function' },
  handler,
};
