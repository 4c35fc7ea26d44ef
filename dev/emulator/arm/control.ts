/**
 * Control API for connected registries (mounted by the core on the control listener), so tests and the
 * sandbox can stage edge scenarios: an instance going stale, failing sync, never activated.
 *
 *   GET    /_emulator/connected-registries/{registry}                list stored records
 *   POST   /_emulator/connected-registries/{registry}/seed           seedConnectedRegistries (the three sandbox ones)
 *   PUT    /_emulator/connected-registries/{registry}/{name}         create/replace (body: StoredConnectedRegistry)
 *   PATCH  /_emulator/connected-registries/{registry}/{name}         {connectionState?, lastActivityTime? (ISO|null),
 *                                                                     activationStatus?, statusDetails?,
 *                                                                     lastSyncTime? (ISO|null)}
 *   DELETE /_emulator/connected-registries/{registry}/{name}
 */
import { z } from 'zod';
import type { EmulatorRequest, EmulatorResponse, RegistryDefinition, RouteHandler } from '../contract.js';
import {
  seedConnectedRegistries,
  type ConnectedRegistryStore,
  type StoredConnectedRegistry,
} from './connected-registries.js';

export const CONNECTED_REGISTRIES_CONTROL_BASE = '/_emulator/connected-registries';

const isoOrNull = z.union([z.iso.datetime({ offset: true }), z.null()]);
const statusDetail = z.object({
  type: z.string(),
  code: z.string(),
  description: z.string(),
  timestamp: z.iso.datetime({ offset: true }),
  correlationId: z.string(),
});
const connectionState = z.enum(['Online', 'Offline', 'Syncing', 'Unhealthy']);

const patchSchema = z.object({
  connectionState: connectionState.optional(),
  lastActivityTime: isoOrNull.optional(),
  activationStatus: z.enum(['Active', 'Inactive']).optional(),
  statusDetails: z.array(statusDetail).optional(),
  lastSyncTime: isoOrNull.optional(),
});

const recordSchema = z.object({
  mode: z.enum(['ReadWrite', 'ReadOnly', 'Registry', 'Mirror']).default('ReadOnly'),
  connectionState: connectionState.default('Offline'),
  lastActivityTime: z.iso.datetime({ offset: true }).optional(),
  activationStatus: z.enum(['Active', 'Inactive']).default('Inactive'),
  version: z.string().optional(),
  syncSchedule: z.string().default('* * * * *'),
  syncWindow: z.string().optional(),
  syncMessageTtl: z.string().default('P2D'),
  lastSyncTime: z.iso.datetime({ offset: true }).optional(),
  statusDetails: z.array(statusDetail).default([]),
  clientTokenIds: z.array(z.string()).default([]),
  parentName: z.string().optional(),
  notificationsList: z.array(z.string()).optional(),
  garbageCollection: z.object({ enabled: z.boolean(), schedule: z.string() }).optional(),
  logging: z.object({ logLevel: z.string(), auditLogStatus: z.enum(['Enabled', 'Disabled']) }).optional(),
});

const TITLES: Readonly<Record<number, string>> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed' };
const problem = (status: number, detail: string): EmulatorResponse => ({
  status,
  headers: { 'content-type': 'application/problem+json' },
  body: { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail },
});

function json(request: EmulatorRequest): unknown {
  try {
    return JSON.parse(request.body.toString('utf8') || '{}') as unknown;
  } catch {
    return undefined;
  }
}

const issues = (e: z.ZodError): string =>
  e.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');

export function createConnectedRegistryControlHandler(
  store: ConnectedRegistryStore,
  registries: () => readonly RegistryDefinition[],
  basePath = CONNECTED_REGISTRIES_CONTROL_BASE,
): RouteHandler {
  return (request) => {
    if (!request.path.startsWith(`${basePath}/`)) return Promise.resolve(undefined);
    const [registryName, name, extra] = request.path.slice(basePath.length + 1).split('/');
    const registry = registries().find((r) => r.name.toLowerCase() === (registryName ?? '').toLowerCase());
    if (!registry) return Promise.resolve(problem(404, `registry '${registryName ?? ''}' does not exist`));
    return Promise.resolve(route(request, registry, name, extra));
  };

  function route(
    request: EmulatorRequest,
    registry: RegistryDefinition,
    name: string | undefined,
    extra: string | undefined,
  ): EmulatorResponse {
    const method = request.method;
    if (name === undefined && method === 'GET') return { status: 200, body: { value: store.list(registry.name) } };
    if (name === 'seed' && extra === undefined && method === 'POST')
      return { status: 201, body: { value: seedConnectedRegistries(store, registry) } };
    if (name === undefined || extra !== undefined) return problem(405, `${method} ${request.path} is not supported`);

    if (method === 'PUT') {
      const parsed = recordSchema.safeParse(json(request));
      if (!parsed.success) return problem(400, issues(parsed.error));
      const { lastActivityTime, version, syncWindow, lastSyncTime } = parsed.data;
      // Spelled out because the record's "maybe undefined" fields are required keys, not optional ones.
      const record: StoredConnectedRegistry = {
        ...parsed.data,
        name,
        lastActivityTime,
        version,
        syncWindow,
        lastSyncTime,
      };
      return { status: 200, body: store.put(registry.name, record) };
    }
    if (method === 'DELETE')
      return store.remove(registry.name, name)
        ? { status: 204 }
        : problem(404, `connected registry '${name}' does not exist`);
    if (method === 'GET') {
      const record = store.get(registry.name, name);
      return record ? { status: 200, body: record } : problem(404, `connected registry '${name}' does not exist`);
    }
    if (method !== 'PATCH') return problem(405, `${method} ${request.path} is not supported`);

    const parsed = patchSchema.safeParse(json(request));
    if (!parsed.success) return problem(400, issues(parsed.error));
    if (!store.get(registry.name, name)) return problem(404, `connected registry '${name}' does not exist`);
    const patch = parsed.data;
    // Each field goes through the exported setter, so the control API and direct callers behave the same.
    if (patch.connectionState !== undefined) store.setConnectionState(registry.name, name, patch.connectionState);
    if (patch.lastActivityTime !== undefined)
      store.setLastActivityTime(registry.name, name, patch.lastActivityTime ?? undefined);
    if (patch.activationStatus !== undefined) store.setActivation(registry.name, name, patch.activationStatus);
    if (patch.statusDetails !== undefined) store.setStatusDetails(registry.name, name, patch.statusDetails);
    if (patch.lastSyncTime !== undefined) store.setLastSyncTime(registry.name, name, patch.lastSyncTime ?? undefined);
    return { status: 200, body: store.get(registry.name, name) };
  }
}
