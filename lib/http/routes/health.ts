import { summarizeConfig, type AppConfig } from '../../config.js';
import { checkHealth } from '../../health.js';
import { probeRegistry } from '../../registry/probe.js';
import type { StorageClients } from '../../storage/clients.js';
import { appVersion } from '../../version.js';
import type { HttpRoute } from '../route.js';

export interface HealthRouteDependencies {
  readonly config: AppConfig;
  readonly storage: Pick<StorageClients, 'tableService'>;
}

/** `GET health` (anonymous): version, configuration summary, and whether storage and each registry answer. */
export const healthRoute: HttpRoute<HealthRouteDependencies> = async (_request, _context, { config, storage }) => {
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
  return {
    status: report.status === 'healthy' ? 200 : 503,
    jsonBody: report,
    headers: { 'cache-control': 'no-store' },
  };
};
