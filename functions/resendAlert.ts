import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Sends an alert again with fresh attempts (Streaming.Write). */
export const resendAlert: HttpFunction = {
  name: 'resendAlert',
  trigger: { type: 'http', route: 'alerts/{id}/resend', methods: ['POST'], authLevel: 'function' },
  handler: lazyRoute(async () => (await import('../lib/http/routes/alerts.js')).alertRoutes.resend, appDependencies),
};
