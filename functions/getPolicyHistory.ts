import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { policyRoutes } from '../lib/http/routes/policies.js';

/** Every write attempt on a scope, newest first (Streaming.Read). */
export const getPolicyHistory: HttpFunction = {
  name: 'getPolicyHistory',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/policy-history/{*scope}',
    methods: ['GET'],
    authLevel: 'function',
  },
  handler: serve(policyRoutes.history, getDependencies),
};
