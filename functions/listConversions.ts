import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Conversions of a registry; filters `repository`, `status`, `since`; paged with `continuationToken`. */
export const listConversions: HttpFunction = {
  name: 'listConversions',
  trigger: { type: 'http', route: 'registries/{registry}/conversions', methods: ['GET'], authLevel: 'function' },
  handler: lazyRoute(
    async () => (await import('../lib/http/routes/conversions.js')).conversionRoutes.list,
    appDependencies,
  ),
};
