import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { policyHttp } from '../lib/policy/http.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
  policyHttp.delete(request, context, getDependencies().policyHttp);

/** Deletes a policy; If-Match optional (Streaming.Write; owners or admin). */
export const deletePolicy: HttpFunction = {
  name: 'deletePolicy',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/policies/{*scope}',
    methods: ['DELETE'],
    authLevel: 'function',
  },
  handler,
};
