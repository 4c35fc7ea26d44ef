import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { policyHttp } from '../lib/policy/http.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
  policyHttp.history(request, context, getDependencies().policyHttp);

/** Every write attempt on a scope, newest first (Streaming.Read). */
export const getPolicyHistory: HttpFunction = {
  name: 'getPolicyHistory',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/policy-history/{*scope}',
    methods: ['GET'],
    authLevel: 'function',
  },
  handler,
};
