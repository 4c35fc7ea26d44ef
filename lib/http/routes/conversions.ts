import {
  imageParams,
  listConversionsQuery,
  registryParams,
  requireRepository,
  startConversionBody,
  type ConversionApi,
} from '../../conversion/api.js';
import { requirePrincipal } from '../principal.js';
import { parseJsonBody, parseParts, queryObject } from '../request.js';
import type { HttpRoute } from '../route.js';

export interface ConversionRouteDependencies {
  readonly conversionApi: ConversionApi;
}

type ConversionRoute = HttpRoute<ConversionRouteDependencies>;

/** The conversion routes: a registry's conversions, one image's, and starting or cancelling one by hand. */
export const conversionRoutes = {
  /** `POST registries/{registry}/conversions` `{repository, tag | digest, force?}` → 202 with the record. */
  start: (async (request, context, { conversionApi }) => {
    const principal = requirePrincipal(request, 'Streaming.Write');
    const { registry } = parseParts(request.params, registryParams, 'params');
    const body = await parseJsonBody(request, startConversionBody);
    return { status: 202, jsonBody: await conversionApi.start(registry, body, principal.id, context) };
  }) satisfies ConversionRoute,

  /** `GET registries/{registry}/conversions`: filters `repository`, `status`, `since`; paged. */
  list: (async (request, _context, { conversionApi }) => {
    requirePrincipal(request, 'Streaming.Read');
    const { registry } = parseParts(request.params, registryParams, 'params');
    const query = parseParts(queryObject(request), listConversionsQuery, 'query');
    return { status: 200, jsonBody: await conversionApi.list(registry, query) };
  }) satisfies ConversionRoute,

  /** `GET registries/{registry}/conversions/{digest}?repository=…`. */
  get: (async (request, _context, { conversionApi }) => {
    requirePrincipal(request, 'Streaming.Read');
    const { registry, digest } = parseParts(request.params, imageParams, 'params');
    const repository = requireRepository(queryObject(request));
    return { status: 200, jsonBody: await conversionApi.get(registry, repository, digest) };
  }) satisfies ConversionRoute,

  /** `POST registries/{registry}/conversions/{digest}/cancel?repository=…`. */
  cancel: (async (request, context, { conversionApi }) => {
    const principal = requirePrincipal(request, 'Streaming.Write');
    const { registry, digest } = parseParts(request.params, imageParams, 'params');
    const repository = requireRepository(queryObject(request));
    return { status: 200, jsonBody: await conversionApi.cancel(registry, repository, digest, principal.id, context) };
  }) satisfies ConversionRoute,
};
