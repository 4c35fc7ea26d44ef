import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { openApiRoute } from '../lib/http/routes/openapi.js';

/** The OpenAPI 3.1 document of this API (function key). */
export const openApi: HttpFunction = {
  name: 'openApi',
  trigger: { type: 'http', route: 'openapi.json', methods: ['GET'], authLevel: 'function' },
  handler: serve(openApiRoute, () => undefined),
};
