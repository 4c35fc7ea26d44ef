/**
 * Control API for the emulator's ARM beyond registries (issue #20), under `/_emulator/arm` on the control listener:
 * clusters and pools, role assignments at any scope, the registry's network settings and replications,
 * Microsoft.Network resources, and hostile switches. Documented in dev/emulator/README.md § ARM: clusters, roles,
 * network.
 */
import { z } from 'zod';
import { registryResourceId, type EmulatorRequest, type EmulatorResponse, type RouteHandler } from '../contract.js';
import { registryRoles, type RegistryPermissions, type RegistryRole } from '../registry/permissions.js';
import { forbiddableOperations, type ArmCloud, type StoredAgentPool, type StoredCluster } from './cloud.js';
import type { ArmRegistry } from './resources.js';

export const ARM_CONTROL_BASE = '/_emulator/arm';

const poolSchema = z.object({
  mode: z.enum(['System', 'User']),
  count: z.number().int().min(0),
  enableAutoScaling: z.boolean().optional(),
  minCount: z.number().int().min(0).optional(),
  maxCount: z.number().int().min(0).optional(),
  vmSize: z.string().min(1),
  osType: z.enum(['Linux', 'Windows']),
  osSKU: z.string().min(1),
  orchestratorVersion: z.string().min(1),
  currentOrchestratorVersion: z.string().optional(),
  workloadRuntime: z.string().optional(),
  nodeImageVersion: z.string().optional(),
  powerState: z.enum(['Running', 'Stopped']),
  vnetSubnetID: z.string().optional(),
  artifactStreamingEnabled: z.boolean().optional(),
  securityProfile: z
    .object({
      enableVTPM: z.boolean().optional(),
      enableSecureBoot: z.boolean().optional(),
      sshAccess: z.string().optional(),
    })
    .optional(),
});
/** Any pool field; `null` removes an optional one (e.g. `artifactStreamingEnabled: null`: never configured). */
const poolPatchSchema = poolSchema.partial().extend({
  artifactStreamingEnabled: z.boolean().nullable().optional(),
  vnetSubnetID: z.string().nullable().optional(),
  currentOrchestratorVersion: z.string().nullable().optional(),
  nodeImageVersion: z.string().nullable().optional(),
  workloadRuntime: z.string().nullable().optional(),
});

const clusterFields = {
  location: z.string().min(1),
  kubernetesVersion: z.string().min(1),
  currentKubernetesVersion: z.string().optional(),
  kubeletIdentity: z.object({ clientId: z.string(), objectId: z.string().min(1), resourceId: z.string() }),
  outboundType: z.enum(['loadBalancer', 'userDefinedRouting', 'managedNATGateway', 'userAssignedNATGateway', 'none']),
  outboundIpIds: z.array(z.string()),
  privateCluster: z.boolean(),
};
const clusterSchema = z.object({
  ...clusterFields,
  pools: z.array(poolSchema.extend({ name: z.string().min(1) })),
});
const clusterPatchSchema = z.object(clusterFields).partial();

const assignmentSchema = z.object({
  scope: z.string().regex(/^\/subscriptions\/[^/]+/i, 'a scope starts with /subscriptions/{id}'),
  principalId: z.string().min(1),
  role: z.enum(registryRoles),
  repositories: z.array(z.string().min(1)).min(1).optional(),
  principalType: z.enum(['ServicePrincipal', 'User', 'Group']).optional(),
});
const unassignSchema = z.object({
  scope: z.string().min(1),
  principalId: z.string().min(1),
  role: z.enum(registryRoles).optional(),
});

const networkPatchSchema = z.object({
  publicNetworkAccess: z.enum(['Enabled', 'Disabled']).optional(),
  networkRuleSet: z
    .object({
      defaultAction: z.enum(['Allow', 'Deny']),
      ipRules: z.array(z.object({ action: z.literal('Allow').default('Allow'), value: z.string().min(1) })),
    })
    .optional(),
  /** With `subnetId`, the endpoint is also created as a Microsoft.Network resource. */
  privateEndpoints: z
    .array(
      z.object({
        id: z.string().min(1),
        status: z.enum(['Approved', 'Pending', 'Rejected', 'Disconnected']).default('Approved'),
        subnetId: z.string().optional(),
      }),
    )
    .optional(),
  /** Replica locations besides the home region. */
  replicas: z.array(z.string().min(1)).optional(),
});

const publicIpSchema = z.object({
  id: z.string().min(1),
  ipAddress: z.string().min(1),
  location: z.string().optional(),
});
const privateEndpointSchema = z.object({
  id: z.string().min(1),
  subnetId: z.string().min(1),
  location: z.string().optional(),
});
const forbiddenSchema = z.object({ operations: z.array(z.enum(forbiddableOperations)) });

export type ClusterInput = z.input<typeof clusterSchema>;
export type ClusterPatch = z.input<typeof clusterPatchSchema>;
export type AgentPoolInput = z.input<typeof poolSchema>;
export type AgentPoolPatch = z.input<typeof poolPatchSchema>;
export type RoleAssignmentInput = z.input<typeof assignmentSchema>;
export type RegistryNetworkPatch = z.input<typeof networkPatchSchema>;

const TITLES: Readonly<Record<number, string>> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed' };
const problem = (status: number, detail: string): EmulatorResponse => ({
  status,
  headers: { 'content-type': 'application/problem+json' },
  body: { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail },
});

function parse<T>(
  schema: z.ZodType<T>,
  request: EmulatorRequest,
): { ok: true; value: T } | { ok: false; response: EmulatorResponse } {
  let body: unknown;
  try {
    body = JSON.parse(request.body.toString('utf8') || '{}') as unknown;
  } catch {
    return { ok: false, response: problem(400, 'the body is not JSON') };
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return { ok: true, value: parsed.data };
  const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
  return { ok: false, response: problem(400, detail) };
}

/** Drops `undefined` and `null` values so optional record fields stay absent, as the store expects. */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface ArmControlOptions {
  readonly cloud: ArmCloud;
  readonly registries: () => readonly ArmRegistry[];
  readonly permissions: (registry: string) => RegistryPermissions | undefined;
}

export function createArmControlHandler(options: ArmControlOptions, basePath = ARM_CONTROL_BASE): RouteHandler {
  const { cloud } = options;
  const registryAt = (scope: string): ArmRegistry | undefined =>
    options.registries().find((r) => registryResourceId(r).toLowerCase() === scope.toLowerCase().replace(/\/+$/, ''));

  return (request) => {
    if (!request.path.startsWith(`${basePath}/`)) return Promise.resolve(undefined);
    const parts = request.path.slice(basePath.length + 1).split('/');
    return Promise.resolve(route(request, parts));
  };

  function route(request: EmulatorRequest, parts: string[]): EmulatorResponse {
    const method = request.method;
    const [head, ...rest] = parts;
    if (head === 'clusters') return clusters(request, rest);
    if (head === 'role-assignments' && rest.length === 0) {
      if (method === 'GET') return { status: 200, body: { value: listAssignments() } };
      if (method === 'PUT') {
        const input = parse(assignmentSchema, request);
        if (!input.ok) return input.response;
        assign(input.value);
        return { status: 200, body: { value: listAssignments() } };
      }
      if (method === 'DELETE') {
        const input = parse(unassignSchema, request);
        if (!input.ok) return input.response;
        const removed = unassign(input.value.scope, input.value.principalId, input.value.role);
        return removed > 0 ? { status: 200, body: { removed } } : problem(404, 'no such role assignment');
      }
    }
    if (head === 'registries' && rest.length === 2 && rest[1] === 'network') {
      const registry = options.registries().find((r) => r.name.toLowerCase() === (rest[0] ?? '').toLowerCase());
      if (!registry) return problem(404, `registry '${rest[0] ?? ''}' does not exist`);
      if (method === 'GET') return { status: 200, body: cloud.network(registry.name) };
      if (method !== 'PATCH') return problem(405, `${method} ${request.path} is not supported`);
      const input = parse(networkPatchSchema, request);
      if (!input.ok) return input.response;
      const network = cloud.network(registry.name);
      const patch = input.value;
      if (patch.publicNetworkAccess !== undefined) network.publicNetworkAccess = patch.publicNetworkAccess;
      if (patch.networkRuleSet !== undefined) network.networkRuleSet = patch.networkRuleSet;
      if (patch.replicas !== undefined) network.replicas = [...patch.replicas];
      if (patch.privateEndpoints !== undefined) {
        network.privateEndpoints = patch.privateEndpoints.map(({ id, status }) => ({ id, status }));
        for (const endpoint of patch.privateEndpoints)
          if (endpoint.subnetId !== undefined)
            cloud.putPrivateEndpoint(endpoint.id, endpoint.subnetId, registry.location);
      }
      return { status: 200, body: network };
    }
    if (head === 'public-ips' && rest.length === 0 && method === 'PUT') {
      const input = parse(publicIpSchema, request);
      if (!input.ok) return input.response;
      cloud.putPublicIp(input.value.id, input.value.ipAddress, input.value.location);
      return { status: 200, body: cloud.publicIp(input.value.id) };
    }
    if (head === 'private-endpoints' && rest.length === 0 && method === 'PUT') {
      const input = parse(privateEndpointSchema, request);
      if (!input.ok) return input.response;
      cloud.putPrivateEndpoint(input.value.id, input.value.subnetId, input.value.location);
      return { status: 200, body: cloud.privateEndpoint(input.value.id) };
    }
    if (head === 'forbidden' && rest.length === 0) {
      if (method === 'GET') return { status: 200, body: { operations: [...cloud.forbidden] } };
      if (method === 'PUT') {
        const input = parse(forbiddenSchema, request);
        if (!input.ok) return input.response;
        cloud.forbidden.clear();
        for (const operation of input.value.operations) cloud.forbidden.add(operation);
        return { status: 200, body: { operations: [...cloud.forbidden] } };
      }
    }
    return problem(405, `${method} ${request.path} is not supported`);
  }

  function clusters(request: EmulatorRequest, parts: string[]): EmulatorResponse {
    const method = request.method;
    if (parts.length === 0 && method === 'GET') return { status: 200, body: { value: cloud.clusters() } };
    const [subscriptionId = '', resourceGroup = '', name = '', sub, poolName] = parts;
    if (!subscriptionId || !resourceGroup || !name) return problem(404, 'use clusters/{subscription}/{group}/{name}');
    const existing = cloud.cluster(subscriptionId, resourceGroup, name);
    if (sub === undefined) {
      if (method === 'GET')
        return existing ? { status: 200, body: existing } : problem(404, `cluster '${name}' does not exist`);
      if (method === 'DELETE')
        return cloud.removeCluster(subscriptionId, resourceGroup, name)
          ? { status: 204 }
          : problem(404, `cluster '${name}' does not exist`);
      if (method === 'PUT') {
        const input = parse(clusterSchema, request);
        if (!input.ok) return input.response;
        const record = cloud.putCluster({
          ...(defined(input.value) as Omit<StoredCluster, 'subscriptionId' | 'resourceGroup' | 'name'>),
          pools: input.value.pools.map((pool) => defined(pool) as StoredAgentPool),
          subscriptionId,
          resourceGroup,
          name,
        });
        return { status: 200, body: record };
      }
      if (method === 'PATCH') {
        if (!existing) return problem(404, `cluster '${name}' does not exist`);
        const input = parse(clusterPatchSchema, request);
        if (!input.ok) return input.response;
        Object.assign(existing, defined(input.value));
        return { status: 200, body: existing };
      }
      return problem(405, `${method} ${request.path} is not supported`);
    }
    if (sub.toLowerCase() !== 'agentpools' || poolName === undefined)
      return problem(404, 'use clusters/{subscription}/{group}/{name}/agentPools/{pool}');
    if (!existing) return problem(404, `cluster '${name}' does not exist`);
    const index = existing.pools.findIndex((p) => p.name.toLowerCase() === poolName.toLowerCase());
    if (method === 'PUT') {
      const input = parse(poolSchema, request);
      if (!input.ok) return input.response;
      const pool = { ...(defined(input.value) as Omit<StoredAgentPool, 'name'>), name: poolName };
      if (index >= 0) existing.pools[index] = pool;
      else existing.pools.push(pool);
      return { status: 200, body: pool };
    }
    const pool = existing.pools[index];
    if (!pool) return problem(404, `agent pool '${poolName}' does not exist`);
    if (method === 'GET') return { status: 200, body: pool };
    if (method === 'DELETE') {
      existing.pools.splice(index, 1);
      return { status: 204 };
    }
    if (method !== 'PATCH') return problem(405, `${method} ${request.path} is not supported`);
    const input = parse(poolPatchSchema, request);
    if (!input.ok) return input.response;
    const record = pool as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(input.value)) {
      if (value === null) record[key] = undefined;
      else if (value !== undefined) record[key] = value;
    }
    return { status: 200, body: pool };
  }

  /**
   * An assignment on a registry goes to that registry's data-plane store (registry/permissions.ts), so the data plane
   * enforces what ARM lists; any other scope is ARM's own (and the data plane inherits it when it is above a registry).
   */
  function assign(input: z.output<typeof assignmentSchema>): void {
    const registry = registryAt(input.scope);
    const permissions = registry ? options.permissions(registry.name) : undefined;
    if (registry && permissions) {
      const current = permissions.assignments(input.principalId) ?? [];
      const same = (a: { role: RegistryRole; repositories?: readonly string[] | undefined }): boolean =>
        a.role === input.role && JSON.stringify(a.repositories ?? null) === JSON.stringify(input.repositories ?? null);
      if (!current.some(same))
        permissions.assign(input.principalId, [
          ...current,
          { role: input.role, ...(input.repositories ? { repositories: input.repositories } : {}) },
        ]);
      return;
    }
    cloud.addAssignment({
      scope: input.scope,
      principalId: input.principalId,
      principalType: input.principalType ?? 'ServicePrincipal',
      role: input.role,
      repositories: input.repositories,
    });
  }

  /**
   * Removing the last assignment on a registry leaves the identity restricted with no roles (not back to the friendly
   * default): ARM then lists nothing for it, and the data plane refuses it, which is what Azure would do.
   */
  function unassign(scope: string, principalId: string, role?: RegistryRole): number {
    const registry = registryAt(scope);
    const permissions = registry ? options.permissions(registry.name) : undefined;
    if (registry && permissions) {
      const current = permissions.assignments(principalId) ?? [];
      const kept = current.filter((a) => role !== undefined && a.role !== role);
      permissions.assign(principalId, kept);
      return current.length - kept.length;
    }
    return cloud.removeAssignments(scope, principalId, role);
  }

  function listAssignments(): Record<string, unknown>[] {
    const registryScoped = options.registries().flatMap((registry) => {
      const permissions = options.permissions(registry.name);
      if (!permissions) return [];
      return [...permissions.assigned()].flatMap(([principalId, assignments]) =>
        assignments.map((a) => ({ scope: registryResourceId(registry), principalId, ...a })),
      );
    });
    return [...registryScoped, ...cloud.assignments().map((a) => ({ ...a }))];
  }
}
