import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Deletes a policy; If-Match optional (Streaming.Write; owners or admin). */
export const deletePolicy: HttpFunction = {
  name: 'deletePolicy',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/policies/{*scope}',
    methods: ['DELETE'],
    authLevel: 'function',
  },
  handler: lazyRoute(async () => (await import('../lib/http/routes/policies.js')).policyRoutes.delete, appDependencies),
};
