import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { reportRoutes } from '../lib/http/routes/reports.js';

/** One stored compliance report by id as json, csv, html or md (Streaming.Read); `reports/latest` wins its path. */
export const getReport: HttpFunction = {
  name: 'getReport',
  trigger: { type: 'http', route: 'reports/{id}', methods: ['GET'], authLevel: 'function' },
  handler: serve(reportRoutes.get, getDependencies),
};
