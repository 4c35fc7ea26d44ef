import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Cancels a running conversion: `POST /api/registries/{registry}/conversions/{digest}/cancel?repository=…`. */
export const cancelConversion: HttpFunction = {
  name: 'cancelConversion',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/conversions/{digest}/cancel',
    methods: ['POST'],
    authLevel: 'function',
  },
  handler: lazyRoute(
    async () => (await import('../lib/http/routes/conversions.js')).conversionRoutes.cancel,
    appDependencies,
  ),
};
