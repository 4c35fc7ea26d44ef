import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** One stored compliance report by id as json, csv, html or md (Streaming.Read); `reports/latest` wins its path. */
export const getReport: HttpFunction = {
  name: 'getReport',
  trigger: { type: 'http', route: 'reports/{id}', methods: ['GET'], authLevel: 'function' },
  handler: lazyRoute(async () => (await import('../lib/http/routes/reports.js')).reportRoutes.get, appDependencies),
};
