import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** One policy with its ETag (Streaming.Read). */
export const getPolicy: HttpFunction = {
  name: 'getPolicy',
  trigger: { type: 'http', route: 'registries/{registry}/policies/{*scope}', methods: ['GET'], authLevel: 'function' },
  handler: lazyRoute(async () => (await import('../lib/http/routes/policies.js')).policyRoutes.get, appDependencies),
};
