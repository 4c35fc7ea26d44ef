import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { reportRoutes } from '../lib/http/routes/reports.js';

/** Generates a compliance report now (Streaming.Write); 202 with its id and links. */
export const createReport: HttpFunction = {
  name: 'createReport',
  trigger: { type: 'http', route: 'reports', methods: ['POST'], authLevel: 'function' },
  handler: serve(reportRoutes.create, getDependencies),
};
