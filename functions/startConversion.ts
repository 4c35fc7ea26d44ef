import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { registryParams, startConversionBody } from '../lib/conversion/api.js';
import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { requirePrincipal } from '../lib/http/principal.js';
import { parseJsonBody, parseParts, respond } from '../lib/http/request.js';

async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return respond(context, async () => {
    requirePrincipal(request, 'Streaming.Write');
    const { registry } = parseParts(request.params, registryParams, 'params');
    const body = await parseJsonBody(request, startConversionBody);
    return { status: 202, jsonBody: await getDependencies().conversionApi.start(registry, body, context) };
  });
}

/** Starts (or adopts) a conversion by hand: `{ "repository", "tag" | "digest" }`. */
export const startConversion: HttpFunction = {
  name: 'startConversion',
  trigger: { type: 'http', route: 'registries/{registry}/conversions', methods: ['POST'], authLevel: 'function' },
  handler,
};
