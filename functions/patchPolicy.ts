import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { policyHttp } from '../lib/policy/http.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
  policyHttp.patch(request, context, getDependencies().policyHttp);

/** JSON merge patch of a policy, needs If-Match (Streaming.Write; owners or admin). */
export const patchPolicy: HttpFunction = {
  name: 'patchPolicy',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/policies/{*scope}',
    methods: ['PATCH'],
    authLevel: 'function',
  },
  handler,
};
