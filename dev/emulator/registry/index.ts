import type { EmulatorRequest, EmulatorResponse, RouteHandler } from '../contract.js';
import type { EmulatorState } from '../state.js';
import { authorize, handleTokenRoutes, type AuthOptions } from './auth.js';
import { RegistryError } from './errors.js';
import { metadataRouter } from './metadata.js';
import { ociRouter } from './oci.js';
import type { RegistryRouter } from './route.js';
import { streamingRouter } from './streaming.js';

// Streaming before metadata: `/acr/v1/{repo}/_streaming` must not be read as a repository path.
const routers: readonly RegistryRouter[] = [streamingRouter, metadataRouter, ociRouter];

/** The data plane of every registry: token service, then authorization, then the matched route. */
export function registryHandler(state: EmulatorState, auth: AuthOptions): RouteHandler {
  return async (request: EmulatorRequest): Promise<EmulatorResponse | undefined> => {
    if (request.listener.kind !== 'registry') return undefined;
    const runtime = state.registry(request.listener.registry);
    if (!runtime) return undefined;
    try {
      const token = await handleTokenRoutes(runtime, request, auth);
      if (token) return token;
      for (const router of routers) {
        const route = router(runtime, request);
        if (!route) continue;
        const denied = authorize(runtime, request, route.requirement, auth);
        if (denied) return denied;
        return await route.handle();
      }
      return undefined;
    } catch (error) {
      if (error instanceof RegistryError) return error.toResponse();
      throw error;
    }
  };
}
