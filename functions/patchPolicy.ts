import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** JSON merge patch of a policy, needs If-Match (Streaming.Write; owners or admin). */
export const patchPolicy: HttpFunction = {
  name: 'patchPolicy',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/policies/{*scope}',
    methods: ['PATCH'],
    authLevel: 'function',
  },
  handler: lazyRoute(async () => (await import('../lib/http/routes/policies.js')).policyRoutes.patch, appDependencies),
};
