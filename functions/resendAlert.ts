import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { alertRoutes } from '../lib/http/routes/alerts.js';

/** Sends an alert again with fresh attempts (Streaming.Write). */
export const resendAlert: HttpFunction = {
  name: 'resendAlert',
  trigger: { type: 'http', route: 'alerts/{id}/resend', methods: ['POST'], authLevel: 'function' },
  handler: serve(alertRoutes.resend, getDependencies),
};
