import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { auditRoutes } from '../lib/http/routes/audits.js';

/** Starts an audit now: `{ "registry"? }` → 202 with the run ids (Streaming.Write). */
export const createAudit: HttpFunction = {
  name: 'createAudit',
  trigger: { type: 'http', route: 'audits', methods: ['POST'], authLevel: 'function' },
  handler: serve(auditRoutes.start, getDependencies),
};
