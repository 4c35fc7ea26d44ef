import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Stored compliance reports, newest first, paged (Streaming.Read). */
export const listReports: HttpFunction = {
  name: 'listReports',
  trigger: { type: 'http', route: 'reports', methods: ['GET'], authLevel: 'function' },
  handler: lazyRoute(async () => (await import('../lib/http/routes/reports.js')).reportRoutes.list, appDependencies),
};
