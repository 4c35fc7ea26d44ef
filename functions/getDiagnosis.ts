import type { HttpFunction } from '../lib/hosting/catalog.js';
import { appDependencies, lazyRoute } from '../lib/hosting/lazy.js';

/** Why an image would not stream: `GET /api/registries/{registry}/diagnosis?image=…[&cluster=…]`. */
export const getDiagnosis: HttpFunction = {
  name: 'getDiagnosis',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/diagnosis',
    methods: ['GET'],
    authLevel: 'function',
  },
  handler: lazyRoute(
    async () => (await import('../lib/http/routes/diagnosis.js')).diagnosisRoutes.get,
    appDependencies,
  ),
};
