import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Configuration summary, dependency reachability, registry readiness, alert channels, probed live (Streaming.Read). */
export const healthDetails: HttpFunction = {
  name: 'healthDetails',
  trigger: { type: 'http', route: 'health/details', methods: ['GET'], authLevel: 'function' },
  handler: lazyRoute(async () => (await import('../lib/http/routes/health.js')).healthRoutes.details, appDependencies),
};
