import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { auditRoutes } from '../lib/http/routes/audits.js';

/** Recent audit runs of a registry with their counters: `GET /api/audits?registry=` (Streaming.Read). */
export const listAudits: HttpFunction = {
  name: 'listAudits',
  trigger: { type: 'http', route: 'audits', methods: ['GET'], authLevel: 'function' },
  handler: serve(auditRoutes.list, getDependencies),
};
