import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { alertHttp } from '../lib/alerts/http.js';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
  alertHttp.list(request, context, getDependencies().alerts);

/** Alert deliveries; `?status=failed` lists the dead letters (Streaming.Read). */
export const listAlerts: HttpFunction = {
  name: 'listAlerts',
  trigger: { type: 'http', route: 'alerts', methods: ['GET'], authLevel: 'function' },
  handler,
};
