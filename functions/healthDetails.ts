import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { healthRoutes } from '../lib/http/routes/health.js';

/** Configuration summary, dependency reachability, registry readiness, alert channels, probed live (Streaming.Read). */
export const healthDetails: HttpFunction = {
  name: 'healthDetails',
  trigger: { type: 'http', route: 'health/details', methods: ['GET'], authLevel: 'function' },
  handler: serve(healthRoutes.details, getDependencies),
};
