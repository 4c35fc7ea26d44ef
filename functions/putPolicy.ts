import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Creates (201) or replaces (200, needs If-Match) a policy (Streaming.Write; owners or admin). */
export const putPolicy: HttpFunction = {
  name: 'putPolicy',
  trigger: { type: 'http', route: 'registries/{registry}/policies/{*scope}', methods: ['PUT'], authLevel: 'function' },
  handler: lazyRoute(async () => (await import('../lib/http/routes/policies.js')).policyRoutes.put, appDependencies),
};
