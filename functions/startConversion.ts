import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { conversionRoutes } from '../lib/http/routes/conversions.js';

/** Starts (or adopts) a conversion by hand: `{ "repository", "tag" | "digest" }`. */
export const startConversion: HttpFunction = {
  name: 'startConversion',
  trigger: { type: 'http', route: 'registries/{registry}/conversions', methods: ['POST'], authLevel: 'function' },
  handler: serve(conversionRoutes.start, getDependencies),
};
