import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { alertRoutes } from '../lib/http/routes/alerts.js';

/** Alert deliveries; `?status=failed` lists the dead letters (Streaming.Read). */
export const listAlerts: HttpFunction = {
  name: 'listAlerts',
  trigger: { type: 'http', route: 'alerts', methods: ['GET'], authLevel: 'function' },
  handler: serve(alertRoutes.list, getDependencies),
};
