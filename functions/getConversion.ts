import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { imageParams, requireRepository } from '../lib/conversion/api.js';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { requirePrincipal } from '../lib/http/principal.js';
import { parseParts, queryObject, respond } from '../lib/http/request.js';

async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return respond(context, async () => {
    requirePrincipal(request, 'Streaming.Read');
    const { registry, digest } = parseParts(request.params, imageParams, 'params');
    const repository = requireRepository(queryObject(request));
    return { status: 200, jsonBody: await getDependencies().conversionApi.get(registry, repository, digest) };
  });
}

/** One image's conversion: `GET /api/registries/{registry}/conversions/{digest}?repository=…`. */
export const getConversion: HttpFunction = {
  name: 'getConversion',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/conversions/{digest}',
    methods: ['GET'],
    authLevel: 'function',
  },
  handler,
};
