import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Recent audit runs of a registry with their counters: `GET /api/audits?registry=` (Streaming.Read). */
export const listAudits: HttpFunction = {
  name: 'listAudits',
  trigger: { type: 'http', route: 'audits', methods: ['GET'], authLevel: 'function' },
  handler: lazyRoute(async () => (await import('../lib/http/routes/audits.js')).auditRoutes.list, appDependencies),
};
