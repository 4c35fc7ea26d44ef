import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** One image's conversion: `GET /api/registries/{registry}/conversions/{digest}?repository=…`. */
export const getConversion: HttpFunction = {
  name: 'getConversion',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/conversions/{digest}',
    methods: ['GET'],
    authLevel: 'function',
  },
  handler: lazyRoute(
    async () => (await import('../lib/http/routes/conversions.js')).conversionRoutes.get,
    appDependencies,
  ),
};
