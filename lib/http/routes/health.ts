import { alertChannelStatus, summarizeConfig, type AppConfig } from '../../config.js';
import type { Clock } from '../../core/clock.js';
import { cachedProbe, checkHealth, healthProbeIntervalMs, type HealthReport, type HealthStatus } from '../../health.js';
import { probeRegistry } from '../../registry/probe.js';
import type { StorageClients } from '../../storage/clients.js';
import type { Logger } from '../../core/logging.js';
import type { RegistrySettings } from '../../core/registries.js';
import type { RegistryReadiness } from '../../policy/eligibility.js';
import { appVersion } from '../../version.js';
import { requirePrincipal } from '../principal.js';
import type { HttpRoute } from '../route.js';

/** What the live probes need: the configuration and storage. */
export interface HealthProbeDependencies {
  readonly config: AppConfig;
  readonly storage: Pick<StorageClients, 'tableService'>;
}

export interface HealthRouteDependencies extends HealthProbeDependencies {
  /** Whether each registry can convert (ARM, cached); `unknown` says why it could not be read. */
  readonly readiness: (registry: RegistrySettings, log: Logger) => Promise<RegistryReadiness>;
}

export interface HealthStatusDependencies {
  /** The app's status, from a probe at most {@link healthProbeIntervalMs} old. */
  readonly status: (log: Logger) => Promise<HealthStatus>;
}

/** Storage and each registry, probed live. */
function probeDependencies({ config, storage }: HealthProbeDependencies): Promise<HealthReport> {
  return checkHealth({
    version: appVersion(),
    configSummary: summarizeConfig(config),
    now: () => Date.now(),
    probes: [
      {
        name: 'storage',
        probe: async () => void (await storage.tableService.listTables().byPage({ maxPageSize: 1 }).next()),
      },
      ...config.registries.map((registry) => ({
        name: `registry:${registry.name}`,
        probe: () => probeRegistry(registry.loginServer),
      })),
    ],
  });
}

/**
 * The anonymous status, probed live at most once per interval. It takes the app's dependencies as a function so that
 * it answers — `degraded` — while they cannot be built (an invalid configuration, which the log names), where every
 * other route answers 503 naming the problems.
 */
export function cachedHealthStatus(
  dependencies: () => HealthProbeDependencies,
  clock: Clock,
  intervalMs = healthProbeIntervalMs,
): HealthStatusDependencies {
  return {
    status: cachedProbe(
      async (log: Logger): Promise<HealthStatus> => {
        try {
          return (await probeDependencies(dependencies())).status;
        } catch (error) {
          log.warn(`health probe failed: ${error instanceof Error ? error.message : String(error)}`);
          return 'degraded';
        }
      },
      { intervalMs, clock },
    ),
  };
}

type HealthStatusRoute = HttpRoute<HealthStatusDependencies>;
type HealthDetailsRoute = HttpRoute<HealthRouteDependencies>;

export const healthRoutes = {
  /**
   * `GET health` (anonymous): `ok`/`degraded` and the version, nothing else (issue #17 §4) — no subscription, resource
   * group, registry, endpoint or policy for whoever asks. 503 when degraded, for availability tests and Health check.
   */
  status: (async (_request, context, { status }) => {
    const current = await status(context);
    return {
      status: current === 'ok' ? 200 : 503,
      jsonBody: { status: current, version: appVersion() },
      headers: { 'cache-control': 'no-store' },
    };
  }) satisfies HealthStatusRoute,

  /**
   * `GET health/details` (function key, Streaming.Read): probed live — the version, configuration summary (names and
   * endpoints, never keys), each dependency's reachability and latency, registry readiness and alert channels.
   */
  details: (async (request, context, deps) => {
    requirePrincipal(request, 'Streaming.Read');
    const report = await probeDependencies(deps);
    // Facts about the registries, not the app's own health: a registry that cannot stream, or whose readiness ARM
    // would not tell, does not make the app unhealthy; it is said here, with why.
    const readiness = await Promise.all(
      deps.config.registries.map(async (registry) => ({
        registry: registry.name,
        ...(await deps.readiness(registry, context)),
      })),
    );
    // Likewise an alert channel disabled because its URL or secret did not resolve (issue #16 §4): the app runs
    // without it; this says which and why, so an operator can fix the setting or the Key Vault secret.
    return {
      status: report.status === 'ok' ? 200 : 503,
      jsonBody: { ...report, readiness, alertChannels: alertChannelStatus(deps.config) },
      headers: { 'cache-control': 'no-store' },
    };
  }) satisfies HealthDetailsRoute,
};
