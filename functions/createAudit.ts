import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Starts an audit now: `{ "registry"? }` → 202 with the run ids (Streaming.Write). */
export const createAudit: HttpFunction = {
  name: 'createAudit',
  trigger: { type: 'http', route: 'audits', methods: ['POST'], authLevel: 'function' },
  handler: lazyRoute(async () => (await import('../lib/http/routes/audits.js')).auditRoutes.start, appDependencies),
};
