import { alertChannelStatus, summarizeConfig, type AppConfig } from '../../config.js';
import { checkHealth } from '../../health.js';
import { probeRegistry } from '../../registry/probe.js';
import type { StorageClients } from '../../storage/clients.js';
import type { Logger } from '../../core/logging.js';
import type { RegistrySettings } from '../../core/registries.js';
import type { RegistryReadiness } from '../../policy/eligibility.js';
import { appVersion } from '../../version.js';
import type { HttpRoute } from '../route.js';

export interface HealthRouteDependencies {
  readonly config: AppConfig;
  readonly storage: Pick<StorageClients, 'tableService'>;
  /** Whether each registry can convert (ARM, cached); `unknown` says why it could not be read. */
  readonly readiness: (registry: RegistrySettings, log: Logger) => Promise<RegistryReadiness>;
}

/** `GET health` (anonymous): version, configuration summary, and whether storage and each registry answer. */
export const healthRoute: HttpRoute<HealthRouteDependencies> = async (_request, context, deps) => {
  const { config, storage } = deps;
  const report = await checkHealth({
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
  // Facts about the registries, not the app's own health: a registry that cannot stream, or whose readiness ARM
  // would not tell, does not make the app unhealthy; it is said here, with why.
  const readiness = await Promise.all(
    config.registries.map(async (registry) => ({
      registry: registry.name,
      ...(await deps.readiness(registry, context)),
    })),
  );
  // Likewise an alert channel disabled because its URL or secret did not resolve (issue #16 §4): the app runs
  // without it; this says which and why, so an operator can fix the setting or the Key Vault secret.
  return {
    status: report.status === 'healthy' ? 200 : 503,
    jsonBody: { ...report, readiness, alertChannels: alertChannelStatus(config) },
    headers: { 'cache-control': 'no-store' },
  };
};
