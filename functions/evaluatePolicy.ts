import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { policyRoutes } from '../lib/http/routes/policies.js';

/** Dry run: the decision for an image, the policy that applied and why (Streaming.Read). */
export const evaluatePolicy: HttpFunction = {
  name: 'evaluatePolicy',
  trigger: { type: 'http', route: 'registries/{registry}/policy-evaluation', methods: ['POST'], authLevel: 'function' },
  handler: serve(policyRoutes.evaluate, getDependencies),
};
