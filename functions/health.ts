import { getHealthStatus } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { healthRoutes } from '../lib/http/routes/health.js';

/** `ok`/`degraded` and the version only, from a cached probe (anonymous; 503 when degraded). */
export const health: HttpFunction = {
  name: 'health',
  trigger: { type: 'http', route: 'health', methods: ['GET'], authLevel: 'anonymous' },
  handler: serve(healthRoutes.status, getHealthStatus),
};
