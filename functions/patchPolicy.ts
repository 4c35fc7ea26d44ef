import { getDependencies } from '../lib/deps.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { serve } from '../lib/http/route.js';
import { policyRoutes } from '../lib/http/routes/policies.js';

/** JSON merge patch of a policy, needs If-Match (Streaming.Write; owners or admin). */
export const patchPolicy: HttpFunction = {
  name: 'patchPolicy',
  trigger: {
    type: 'http',
    route: 'registries/{registry}/policies/{*scope}',
    methods: ['PATCH'],
    authLevel: 'function',
  },
  handler: serve(policyRoutes.patch, getDependencies),
};
