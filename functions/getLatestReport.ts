import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { reportRoutes } from '../lib/http/routes/reports.js';

/** The newest compliance report as json, csv, html or md (Streaming.Read). */
export const getLatestReport: HttpFunction = {
  name: 'getLatestReport',
  trigger: { type: 'http', route: 'reports/latest', methods: ['GET'], authLevel: 'function' },
  handler: serve(reportRoutes.latest, getDependencies),
};
