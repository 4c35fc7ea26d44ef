import type { HttpFunction } from '../lib/hosting/catalog.js';
import { lazyRoute } from '../lib/hosting/lazy.js';

/** The OpenAPI 3.1 document of this API (function key). */
export const openApi: HttpFunction = {
  name: 'openApi',
  trigger: { type: 'http', route: 'openapi.json', methods: ['GET'], authLevel: 'function' },
  handler: lazyRoute(
    async () => (await import('../lib/http/routes/openapi.js')).openApiRoute,
    () => Promise.resolve(undefined),
  ),
};
