import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { policyRoutes } from '../lib/http/routes/policies.js';

/** Deletes a policy; If-Match optional (Streaming.Write; owners or admin). */
export const deletePolicy: HttpFunction = {
  name: 'deletePolicy',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/policies/{*scope}',
    methods: ['DELETE'],
    authLevel: 'function',
  },
  handler: serve(policyRoutes.delete, getDependencies),
};
