import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { reportHttp } from '../lib/reports/http.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
  reportHttp.latest(request, context, () => getDependencies().reports);

/** The newest compliance report as json, csv, html or md (Streaming.Read). */
export const getLatestReport: HttpFunction = {
  name: 'getLatestReport',
  trigger: { type: 'http', route: 'reports/latest', methods: ['GET'], authLevel: 'function' },
  handler,
};
