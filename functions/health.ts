import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { summarizeConfig } from '../lib/config.js';
import { getDependencies } from '../lib/deps.js';
import { checkHealth } from '../lib/health.js';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { probeRegistry } from '../lib/registry/probe.js';
import { appVersion } from '../lib/version.js';

async function handler(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const { config, storage } = getDependencies();
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
}

export const health: HttpFunction = {
  name: 'health',
  trigger: { type: 'http', route: 'health', methods: ['GET'], authLevel: 'anonymous' },
  handler,
};
