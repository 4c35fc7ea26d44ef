import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { reportRoutes } from '../lib/http/routes/reports.js';

/** Stored compliance reports, newest first, paged (Streaming.Read). */
export const listReports: HttpFunction = {
  name: 'listReports',
  trigger: { type: 'http', route: 'reports', methods: ['GET'], authLevel: 'function' },
  handler: serve(reportRoutes.list, getDependencies),
};
