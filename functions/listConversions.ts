import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { listConversionsQuery, registryParams } from '../lib/conversion/api.js';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { requirePrincipal } from '../lib/http/principal.js';
import { parseParts, queryObject, respond } from '../lib/http/request.js';

async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return respond(context, async () => {
    requirePrincipal(request, 'Streaming.Read');
    const { registry } = parseParts(request.params, registryParams, 'params');
    const query = parseParts(queryObject(request), listConversionsQuery, 'query');
    return { status: 200, jsonBody: await getDependencies().conversionApi.list(registry, query) };
  });
}

/** Conversions of a registry; filters `repository`, `status`, `since`; paged with `continuationToken`. */
export const listConversions: HttpFunction = {
  name: 'listConversions',
  trigger: { type: 'http', route: 'registries/{registry}/conversions', methods: ['GET'], authLevel: 'function' },
  handler,
};
