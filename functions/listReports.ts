import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { reportHttp } from '../lib/reports/http.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
  reportHttp.list(request, context, () => getDependencies().reports);

/** Stored compliance reports, newest first, paged (Streaming.Read). */
export const listReports: HttpFunction = {
  name: 'listReports',
  trigger: { type: 'http', route: 'reports', methods: ['GET'], authLevel: 'function' },
  handler,
};
