import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Policies of a registry, paged (Streaming.Read). */
export const listPolicies: HttpFunction = {
  name: 'listPolicies',
  trigger: { type: 'http', route: 'registries/{registry}/policies', methods: ['GET'], authLevel: 'function' },
  handler: lazyRoute(async () => (await import('../lib/http/routes/policies.js')).policyRoutes.list, appDependencies),
};
