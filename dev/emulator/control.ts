import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import type { VirtualClock } from './clock.js';
import type { EmulatorRequest, EmulatorResponse, RouteHandler } from './contract.js';
import { faultRuleInputSchema } from './faults.js';
import { rateLimitSchema } from './rate-limit.js';
import {
  buildHelmChart,
  buildImage,
  buildIndex,
  buildStreamingReferrer,
  pushBuilt,
  type BuiltManifest,
} from './registry/content.js';
import { RegistryError } from './registry/errors.js';
import { DIGEST_PATTERN } from './registry/manifest.js';
import { ALL_REPOSITORY_ACTIONS, registryRoles, roleAssignmentModes } from './registry/permissions.js';
import type { RegistryOptions, StartedRegistry } from './server.js';
import { type EmulatorState, type RegistryRuntime, skus } from './state.js';

/**
 * Control API (`/_emulator/…`, plain HTTP on loopback): seeding real OCI content, streaming behaviour,
 * faults, the request log, the virtual clock. Tests and seed scripts use it through control-client.ts.
 */

export interface ControlTarget {
  readonly state: EmulatorState;
  readonly clock: VirtualClock;
  addRegistry(options: RegistryOptions): Promise<StartedRegistry>;
  describe(name: string): StartedRegistry | undefined;
}

const SEED_USER_AGENT = 'acr-emulator-seed/1.0';

export const platformSchema = z.enum(['linux/amd64', 'linux/arm64', 'windows/amd64']);
export type SeedPlatform = z.infer<typeof platformSchema>;

export const createRegistrySchema = z.object({
  name: z.string().regex(/^[a-zA-Z0-9]{5,50}$|^[a-z0-9-]{1,50}$/),
  sku: z.enum(skus as [string, ...string[]]).optional(),
  customerManagedKey: z.boolean().optional(),
  anonymousPullEnabled: z.boolean().optional(),
  subscriptionId: z.string().optional(),
  resourceGroup: z.string().optional(),
  location: z.string().optional(),
});

export const updateRegistrySchema = z.object({
  sku: z.enum(skus as [string, ...string[]]).optional(),
  customerManagedKey: z.boolean().optional(),
  anonymousPullEnabled: z.boolean().optional(),
});

export const seedImageSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('image'),
    repository: z.string(),
    tag: z.string().optional(),
    platform: platformSchema.default('linux/amd64'),
    label: z.string().optional(),
    /** Layers known by size only (e.g. 40 GiB) to simulate huge images. */
    declaredLayerSizes: z.array(z.number().int().positive()).optional(),
    docker: z.boolean().optional(),
  }),
  z.object({
    kind: z.literal('index'),
    repository: z.string(),
    tag: z.string().optional(),
    platforms: z.array(platformSchema).min(1).default(['linux/amd64', 'linux/arm64']),
    label: z.string().optional(),
    docker: z.boolean().optional(),
  }),
  z.object({
    kind: z.literal('helm'),
    repository: z.string(),
    tag: z.string().optional(),
    chart: z.string().default('mychart'),
    version: z.string().default('0.1.0'),
  }),
  /** A streaming referrer for `subject` as a finished conversion leaves it (without running one). */
  z.object({
    kind: z.literal('streaming-referrer'),
    repository: z.string(),
    subject: z.string().regex(DIGEST_PATTERN),
  }),
]);
export type SeedImageInput = z.input<typeof seedImageSchema>;

export interface SeededManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly tag?: string;
  readonly children: readonly { digest: string; architecture: string; os: string }[];
}

export const behaviourSchema = z.object({
  repository: z.string(),
  digest: z.string().regex(DIGEST_PATTERN).optional(),
  startDelayMs: z.number().int().nonnegative().optional(),
  durationMs: z.number().int().nonnegative().optional(),
  outcome: z.enum(['Succeeded', 'UnknownError']).optional(),
  duplicateStart: z.enum(['same-operation', 'conflict']).optional(),
  failureDetails: z.enum(['coded', 'free-text']).optional(),
  runningStatus: z.string().min(1).max(50).optional(),
  operationExpiry: z
    .union([
      z.literal('never'),
      z.object({ afterMs: z.number().int().nonnegative().max(86_400_000), from: z.enum(['created', 'finished']) }),
    ])
    .optional(),
  autoConvert: z.enum(['on-push', 'never']).optional(),
  indexReferrer: z.enum(['index', 'linux-amd64-child']).optional(),
  progressProfile: z.enum(['linear', 'stall-then-jump']).optional(),
});

export const streamingSettingsSchema = z.object({ repository: z.string(), convertPushedImages: z.boolean() });

const actionList = z.array(z.enum(ALL_REPOSITORY_ACTIONS as [string, ...string[]])).min(1);
export const permissionsSchema = z.object({
  mode: z.enum(roleAssignmentModes).optional(),
  streamingActions: z.object({ read: actionList.optional(), write: actionList.optional() }).optional(),
  /** Role actions needed to turn a repository's switch off (A12); `[]` is the default reading. */
  switchOffActions: z.array(z.enum(ALL_REPOSITORY_ACTIONS as [string, ...string[]])).optional(),
});

/** An identity's role assignments on the registry; `null` makes it unrestricted again (the friendly default). */
export const roleAssignmentsSchema = z.object({
  principalId: z.string().min(1),
  assignments: z
    .array(
      z.object({
        role: z.enum(registryRoles),
        repositories: z.array(z.string().min(1)).min(1).optional(),
      }),
    )
    .nullable(),
});

/** A registry's request rate limit (hostile mode); `null` turns it off. */
export const rateLimitInputSchema = z.object({ limit: rateLimitSchema.nullable() });
export const readLagSchema = z.object({ milliseconds: z.number().int().nonnegative().max(3_600_000) });

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function problem(status: number, detail: string): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'application/problem+json' },
    body: { type: 'about:blank', title: status === 404 ? 'Not Found' : 'Bad Request', status, detail },
  };
}

function parse<T>(schema: z.ZodType<T>, request: EmulatorRequest): T {
  let json: unknown;
  try {
    json = request.body.length === 0 ? {} : JSON.parse(request.body.toString('utf8'));
  } catch {
    throw new ControlError(400, 'body is not JSON');
  }
  const result = schema.safeParse(json);
  if (!result.success)
    throw new ControlError(
      400,
      result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
    );
  return result.data;
}

function runtimeOf(target: ControlTarget, name: string): RegistryRuntime {
  const runtime = target.state.registry(name);
  if (!runtime) throw new ControlError(404, `no registry ${name}`);
  return runtime;
}

function describeRegistry(target: ControlTarget, runtime: RegistryRuntime): Record<string, unknown> {
  return { ...runtime.definition, ...target.describe(runtime.definition.name) };
}

function build(input: z.infer<typeof seedImageSchema>, runtime: RegistryRuntime, clock: VirtualClock): BuiltManifest {
  const created = clock.now();
  switch (input.kind) {
    case 'image': {
      const [os = 'linux', architecture = 'amd64'] = input.platform.split('/');
      return buildImage({
        os,
        architecture,
        created,
        label: input.label ?? `${input.repository}:${input.tag ?? ''}:${input.platform}`,
        ...(input.declaredLayerSizes ? { declaredLayerSizes: input.declaredLayerSizes } : {}),
        ...(input.docker ? { docker: true } : {}),
      });
    }
    case 'index': {
      const children = input.platforms.map((p) => {
        const [os = 'linux', architecture = 'amd64'] = p.split('/');
        return buildImage({
          os,
          architecture,
          created,
          label: `${input.label ?? `${input.repository}:${input.tag ?? ''}`}:${p}`,
          ...(input.docker ? { docker: true } : {}),
        });
      });
      return buildIndex(children, input.docker ? { docker: true } : {});
    }
    case 'helm':
      return buildHelmChart(input.chart, input.version);
    case 'streaming-referrer': {
      const subject = runtime.store.resolve(input.repository, input.subject);
      return buildStreamingReferrer(
        { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
        created,
      );
    }
  }
}

const REGISTRY_PATH = /^\/_emulator\/registries\/([^/]+)(\/.*)?$/;
const MANIFEST_PATH = /^\/repositories\/(.+)\/manifests\/([^/]+)$/;
const OPERATION_PATH = /^\/operations\/([^/]+)$/;

export function controlHandler(target: ControlTarget): RouteHandler {
  return async (request) => {
    if (request.listener.kind !== 'control' || !request.path.startsWith('/_emulator/')) return undefined;
    try {
      return await route(target, request);
    } catch (error) {
      if (error instanceof ControlError) return problem(error.status, error.message);
      if (error instanceof RegistryError) return problem(error.status, `${error.code}: ${error.message}`);
      if (error instanceof SyntaxError) return problem(400, error.message); // invalid regular expression
      throw error;
    }
  };
}

async function route(target: ControlTarget, request: EmulatorRequest): Promise<EmulatorResponse | undefined> {
  const { method, path, query } = request;
  const { state, clock } = target;

  // The banner's control URL: what is here, so the printed address answers (issue #18 § 4).
  if (path === '/_emulator/' && method === 'GET')
    return {
      status: 200,
      body: {
        registries: '/_emulator/registries',
        faults: '/_emulator/faults',
        requests: '/_emulator/requests',
        clock: '/_emulator/clock',
        inbox: '/inbox',
        documentation: 'dev/emulator/README.md',
      },
    };

  if (path === '/_emulator/registries') {
    if (method === 'GET')
      return { status: 200, body: [...state.registries.values()].map((r) => describeRegistry(target, r)) };
    if (method === 'POST') {
      const input = parse(createRegistrySchema, request);
      if (state.registry(input.name)) throw new ControlError(409, `registry ${input.name} exists`);
      return { status: 201, body: await target.addRegistry({ ...input, sku: input.sku as RegistryOptions['sku'] }) };
    }
  }
  const registryMatch = REGISTRY_PATH.exec(path);
  if (registryMatch) {
    const runtime = runtimeOf(target, registryMatch[1] ?? '');
    const rest = registryMatch[2] ?? '';
    if (rest === '' && method === 'GET') return { status: 200, body: describeRegistry(target, runtime) };
    if (rest === '' && method === 'PATCH') {
      const input = parse(updateRegistrySchema, request);
      if (input.sku !== undefined) runtime.definition.sku = input.sku as RegistryOptions['sku'] & string;
      if (input.customerManagedKey !== undefined) runtime.definition.customerManagedKey = input.customerManagedKey;
      if (input.anonymousPullEnabled !== undefined)
        runtime.definition.anonymousPullEnabled = input.anonymousPullEnabled;
      return { status: 200, body: describeRegistry(target, runtime) };
    }
    if (rest === '/anonymous-pull' && method === 'PUT') {
      runtime.definition.anonymousPullEnabled = parse(z.object({ enabled: z.boolean() }), request).enabled;
      return { status: 200, body: describeRegistry(target, runtime) };
    }
    if (rest === '/images' && method === 'POST') {
      const input = parse(seedImageSchema, request);
      const built = build(input, runtime, clock);
      const tag = 'tag' in input ? input.tag : undefined;
      pushBuilt(runtime.store, input.repository, built, tag, SEED_USER_AGENT);
      const seeded: SeededManifest = {
        digest: built.digest,
        mediaType: built.mediaType,
        ...(tag === undefined ? {} : { tag }),
        children: built.children.map((c) => ({
          digest: c.digest,
          architecture: c.platform?.architecture ?? '',
          os: c.platform?.os ?? '',
        })),
      };
      return { status: 201, body: seeded };
    }
    const manifestMatch = MANIFEST_PATH.exec(rest);
    if (manifestMatch && method === 'DELETE') {
      const deleted = runtime.store.deleteManifest(manifestMatch[1] ?? '', manifestMatch[2] ?? '', {
        userAgent: SEED_USER_AGENT,
      });
      return { status: 200, body: { digest: deleted.digest, mediaType: deleted.mediaType } };
    }
    if (rest === '/streaming/behaviour' && method === 'PUT') {
      const { repository, digest, ...behaviour } = parse(behaviourSchema, request);
      runtime.streaming.setBehaviour(
        repository,
        digest,
        Object.fromEntries(Object.entries(behaviour).filter(([, v]) => v !== undefined)),
      );
      return { status: 204 };
    }
    if (rest === '/permissions' && method === 'GET') return { status: 200, body: runtime.permissions.describe() };
    if (rest === '/permissions' && method === 'PUT') {
      const input = parse(permissionsSchema, request);
      const permissions = runtime.permissions;
      if (input.mode !== undefined) permissions.mode = input.mode;
      if (input.streamingActions !== undefined)
        permissions.streamingActions = { ...permissions.streamingActions, ...input.streamingActions };
      if (input.switchOffActions !== undefined) permissions.switchOffActions = input.switchOffActions;
      return { status: 200, body: permissions.describe() };
    }
    if (rest === '/role-assignments' && method === 'PUT') {
      const input = parse(roleAssignmentsSchema, request);
      runtime.permissions.assign(input.principalId, input.assignments ?? undefined);
      return { status: 200, body: runtime.permissions.describe() };
    }
    if (rest === '/rate-limit' && method === 'PUT') {
      const input = parse(rateLimitInputSchema, request);
      runtime.rateLimiter.set(input.limit ?? undefined);
      return { status: 204 };
    }
    if (rest === '/read-lag' && method === 'PUT') {
      runtime.store.readLagMs = parse(readLagSchema, request).milliseconds;
      return { status: 204 };
    }
    if (rest === '/streaming/settings' && method === 'PUT') {
      const input = parse(streamingSettingsSchema, request);
      runtime.store.requireRepository(input.repository).streaming.convertPushedImages = input.convertPushedImages;
      return { status: 204 };
    }
    if (rest === '/operations' && method === 'GET') return { status: 200, body: runtime.streaming.list() };
    const operationMatch = OPERATION_PATH.exec(rest);
    if (operationMatch && method === 'GET') {
      const id = operationMatch[1] ?? '';
      const op = runtime.streaming.byId(id);
      if (!op) throw new ControlError(404, `no operation ${id}`);
      if (query.get('wait') !== 'true') return { status: 200, body: op };
      // Long-poll for real-time mode; with a virtual clock, advance it instead.
      const timeoutMs = Number.parseInt(query.get('timeoutMs') ?? '30000', 10);
      const ac = new AbortController();
      const done = await Promise.race([
        runtime.streaming.waitForOperation(id),
        delay(timeoutMs, undefined, { signal: ac.signal }).catch(() => undefined),
      ]);
      ac.abort();
      return done
        ? { status: 200, body: done }
        : problem(408, `operation ${id} still ${runtime.streaming.byId(id)?.status ?? 'unknown'}`);
    }
  }

  if (path === '/_emulator/faults') {
    if (method === 'GET') return { status: 200, body: state.faults.list() };
    if (method === 'POST') return { status: 201, body: state.faults.add(parse(faultRuleInputSchema, request)) };
    if (method === 'DELETE') {
      state.faults.clear();
      return { status: 204 };
    }
  }
  if (path.startsWith('/_emulator/faults/') && method === 'DELETE') {
    return state.faults.remove(path.slice('/_emulator/faults/'.length))
      ? { status: 204 }
      : problem(404, 'no such fault');
  }

  if (path === '/_emulator/requests') {
    if (method === 'GET') {
      const since = query.get('since');
      const listener = query.get('listener');
      return {
        status: 200,
        body: state.requestLog.query({
          ...(query.get('method') ? { method: query.get('method') ?? '' } : {}),
          ...(query.get('path') ? { path: query.get('path') ?? '' } : {}),
          ...(listener === 'registry' || listener === 'management' || listener === 'control' ? { listener } : {}),
          ...(since ? { since: Number.parseInt(since, 10) } : {}),
        }),
      };
    }
    if (method === 'DELETE') {
      state.requestLog.clear();
      return { status: 204 };
    }
  }

  if (path === '/_emulator/clock' && method === 'GET')
    return { status: 200, body: { now: clock.now().toISOString(), realTime: clock.realTime } };
  if (path === '/_emulator/clock/advance' && method === 'POST') {
    clock.advance(parse(z.object({ milliseconds: z.number().int().nonnegative() }), request).milliseconds);
    return { status: 200, body: { now: clock.now().toISOString(), realTime: clock.realTime } };
  }
  if (path === '/_emulator/clock/real-time' && method === 'PUT') {
    clock.setRealTime(parse(z.object({ enabled: z.boolean() }), request).enabled);
    return { status: 200, body: { now: clock.now().toISOString(), realTime: clock.realTime } };
  }
  return problem(404, `no control route ${method} ${path}`);
}
