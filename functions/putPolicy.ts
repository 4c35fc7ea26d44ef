import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { policyRoutes } from '../lib/http/routes/policies.js';

/** Creates (201) or replaces (200, needs If-Match) a policy (Streaming.Write; owners or admin). */
export const putPolicy: HttpFunction = {
  name: 'putPolicy',
  trigger: { type: 'http', route: 'registries/{registry}/policies/{*scope}', methods: ['PUT'], authLevel: 'function' },
  handler: serve(policyRoutes.put, getDependencies),
};
