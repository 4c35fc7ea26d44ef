import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Dry run: the decision for an image, the policy that applied and why (Streaming.Read). */
export const evaluatePolicy: HttpFunction = {
  name: 'evaluatePolicy',
  trigger: { type: 'http', route: 'registries/{registry}/policy-evaluation', methods: ['POST'], authLevel: 'function' },
  handler: lazyRoute(
    async () => (await import('../lib/http/routes/policies.js')).policyRoutes.evaluate,
    appDependencies,
  ),
};
