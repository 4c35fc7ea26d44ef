import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Every write attempt on a scope, newest first (Streaming.Read). */
export const getPolicyHistory: HttpFunction = {
  name: 'getPolicyHistory',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/policy-history/{*scope}',
    methods: ['GET'],
    authLevel: 'function',
  },
  handler: lazyRoute(
    async () => (await import('../lib/http/routes/policies.js')).policyRoutes.history,
    appDependencies,
  ),
};
