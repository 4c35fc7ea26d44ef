import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { conversionRoutes } from '../lib/http/routes/conversions.js';

/** Cancels a running conversion: `POST /api/registries/{registry}/conversions/{digest}/cancel?repository=…`. */
export const cancelConversion: HttpFunction = {
  name: 'cancelConversion',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/conversions/{digest}/cancel',
    methods: ['POST'],
    authLevel: 'function',
  },
  handler: serve(conversionRoutes.cancel, getDependencies),
};
