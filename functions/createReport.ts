import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { reportHttp } from '../lib/reports/http.js';

const handler = (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
  reportHttp.create(request, context, () => getDependencies().reports);

/** Generates a compliance report now (Streaming.Write); 202 with its id and links. */
export const createReport: HttpFunction = {
  name: 'createReport',
  trigger: { type: 'http', route: 'reports', methods: ['POST'], authLevel: 'function' },
  handler,
};
