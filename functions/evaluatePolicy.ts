import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { policyHttp } from '../lib/policy/http.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
  policyHttp.evaluate(request, context, getDependencies().policyHttp);

/** Dry run: the decision for an image, the policy that applied and why (Streaming.Read). */
export const evaluatePolicy: HttpFunction = {
  name: 'evaluatePolicy',
  trigger: { type: 'http', route: 'registries/{registry}/policy-evaluation', methods: ['POST'], authLevel: 'function' },
  handler,
};
