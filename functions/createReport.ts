import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Generates a compliance report now (Streaming.Write); 202 with its id and links. */
export const createReport: HttpFunction = {
  name: 'createReport',
  trigger: { type: 'http', route: 'reports', methods: ['POST'], authLevel: 'function' },
  handler: lazyRoute(async () => (await import('../lib/http/routes/reports.js')).reportRoutes.create, appDependencies),
};
