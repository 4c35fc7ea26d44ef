import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { conversionRoutes } from '../lib/http/routes/conversions.js';

/** One image's conversion: `GET /api/registries/{registry}/conversions/{digest}?repository=…`. */
export const getConversion: HttpFunction = {
  name: 'getConversion',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/conversions/{digest}',
    methods: ['GET'],
    authLevel: 'function',
  },
  handler: serve(conversionRoutes.get, getDependencies),
};
