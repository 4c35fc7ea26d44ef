import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { policyRoutes } from '../lib/http/routes/policies.js';

/** One policy with its ETag (Streaming.Read). */
export const getPolicy: HttpFunction = {
  name: 'getPolicy',
  trigger: { type: 'http', route: 'registries/{registry}/policies/{*scope}', methods: ['GET'], authLevel: 'function' },
  handler: serve(policyRoutes.get, getDependencies),
};
