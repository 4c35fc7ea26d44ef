import type { HttpHandler } from '@azure/functions';
import type { AppDependencies } from '../deps.js';
import type { HealthStatusDependencies } from '../http/routes/health.js';
import type { HttpRoute } from '../http/route.js';

/**
 * Loading the entry point registers every function and imports nothing else (issue #19 §1): a function's route, the
 * composition root and the Azure SDKs behind it are imported when the function first runs, and only the modules its
 * path needs (the Event Grid path never loads report rendering). Node caches a module once imported, so later
 * invocations pay nothing. In the deployment bundle (one file, scripts/stage-package.ts) esbuild keeps these imports
 * lazy: a module is evaluated on first use, though its code is parsed with the bundle.
 */

/** `load` once; a failure is not kept, so the next invocation tries again instead of failing for the worker's life. */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
}

/** The composition root (lib/deps.ts), imported on first use. */
export async function appDependencies(): Promise<AppDependencies> {
  return (await import('../deps.js')).getDependencies();
}

/** The anonymous health status's own root (lib/deps.ts), imported on first use. */
export async function healthStatusDependencies(): Promise<HealthStatusDependencies> {
  return (await import('../deps.js')).getHealthStatus();
}

/**
 * An HTTP handler serving the route `route` imports, with `dependencies`: `serve` and the route's module are imported
 * on the first request, and an error while importing or building the dependencies is answered as `serve` answers any.
 */
export function lazyRoute<Dependencies>(
  route: () => Promise<HttpRoute<Dependencies>>,
  dependencies: () => Promise<Dependencies>,
): HttpHandler {
  const handler = loadOnce(async () => {
    const [{ serve }, loaded] = await Promise.all([import('../http/route.js'), route()]);
    return serve(loaded, dependencies);
  });
  return async (request, context) => (await handler())(request, context);
}
