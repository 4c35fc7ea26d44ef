import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { policyHttp } from '../lib/policy/http.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
  policyHttp.get(request, context, getDependencies().policyHttp);

/** One policy with its ETag (Streaming.Read). */
export const getPolicy: HttpFunction = {
  name: 'getPolicy',
  trigger: { type: 'http', route: 'registries/{registry}/policies/{*scope}', methods: ['GET'], authLevel: 'function' },
  handler,
};
