import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Alert deliveries; `?status=failed` lists the dead letters (Streaming.Read). */
export const listAlerts: HttpFunction = {
  name: 'listAlerts',
  trigger: { type: 'http', route: 'alerts', methods: ['GET'], authLevel: 'function' },
  handler: lazyRoute(async () => (await import('../lib/http/routes/alerts.js')).alertRoutes.list, appDependencies),
};
