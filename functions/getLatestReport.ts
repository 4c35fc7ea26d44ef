import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** The newest compliance report as json, csv, html or md (Streaming.Read). */
export const getLatestReport: HttpFunction = {
  name: 'getLatestReport',
  trigger: { type: 'http', route: 'reports/latest', methods: ['GET'], authLevel: 'function' },
  handler: lazyRoute(async () => (await import('../lib/http/routes/reports.js')).reportRoutes.latest, appDependencies),
};
