import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { healthRoute } from '../lib/http/routes/health.js';

/** Version, configuration summary and whether storage and each registry answer (anonymous; 503 when degraded). */
export const health: HttpFunction = {
  name: 'health',
  trigger: { type: 'http', route: 'health', methods: ['GET'], authLevel: 'anonymous' },
  handler: serve(healthRoute, getDependencies),
};
