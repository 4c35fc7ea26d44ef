import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { policyRoutes } from '../lib/http/routes/policies.js';

/** Policies of a registry, paged (Streaming.Read). */
export const listPolicies: HttpFunction = {
  name: 'listPolicies',
  trigger: { type: 'http', route: 'registries/{registry}/policies', methods: ['GET'], authLevel: 'function' },
  handler: serve(policyRoutes.list, getDependencies),
};
