import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { conversionRoutes } from '../lib/http/routes/conversions.js';

/** Conversions of a registry; filters `repository`, `status`, `since`; paged with `continuationToken`. */
export const listConversions: HttpFunction = {
  name: 'listConversions',
  trigger: { type: 'http', route: 'registries/{registry}/conversions', methods: ['GET'], authLevel: 'function' },
  handler: serve(conversionRoutes.list, getDependencies),
};
