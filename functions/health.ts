import type { HttpFunction } from '../lib/hosting/catalog.js';
import { healthStatusDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** `ok`/`degraded` and the version only, from a cached probe (anonymous; 503 when degraded). */
export const health: HttpFunction = {
  name: 'health',
  trigger: { type: 'http', route: 'health', methods: ['GET'], authLevel: 'anonymous' },
  handler: lazyRoute(
    async () => (await import('../lib/http/routes/health.js')).healthRoutes.status,
    healthStatusDependencies,
  ),
};
