import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { alertHttp } from '../lib/alerts/http.js';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
  alertHttp.resend(request, context, getDependencies().alerts);

/** Sends an alert again with fresh attempts (Streaming.Write). */
export const resendAlert: HttpFunction = {
  name: 'resendAlert',
  trigger: { type: 'http', route: 'alerts/{id}/resend', methods: ['POST'], authLevel: 'function' },
  handler,
};
