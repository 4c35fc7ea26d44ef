import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Starts (or adopts) a conversion by hand: `{ "repository", "tag" | "digest" }`. */
export const startConversion: HttpFunction = {
  name: 'startConversion',
  trigger: { type: 'http', route: 'registries/{registry}/conversions', methods: ['POST'], authLevel: 'function' },
  handler: lazyRoute(
    async () => (await import('../lib/http/routes/conversions.js')).conversionRoutes.start,
    appDependencies,
  ),
};
