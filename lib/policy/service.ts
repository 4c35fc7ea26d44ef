import { z } from '../core/zod.js';
import {
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  PreconditionRequiredError,
  ValidationError,
  validationErrorFrom,
} from '../core/errors.js';
import { isAdmin, type Principal } from '../core/principal.js';
import type { Logger } from '../core/logging.js';
import { decide, type Decision, type RegistryReadiness } from './eligibility.js';
import { policyApiVersion, policySchema, type Policy } from './model.js';
import type {
  DeleteOutcome,
  PolicyChange,
  PolicyEffects,
  PolicyEffectsReport,
  PolicyHistoryEntry,
  PolicyStore,
  StoredPolicy,
} from './ports.js';
import { parseScope } from './scope.js';
import type { PolicyResolver } from './source.js';

/** A policy as the API returns it: the document plus where it applies and who last changed it. */
export interface PolicyResource {
  readonly apiVersion: string;
  readonly registry: string;
  readonly scope: string;
  readonly policy: Policy;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
  readonly effects?: PolicyEffectsReport;
}

export interface Conditions {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
}

export const evaluationBody = z
  .object({
    repository: z.string().min(1).max(256),
    tag: z.string().min(1).max(128).optional(),
    digest: z.string().min(1).max(200).optional(),
    platform: z
      .string()
      .regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/, 'os/architecture, e.g. linux/amd64')
      .optional(),
    sizeBytes: z.number().int().nonnegative().optional(),
  })
  .strict();

export interface PolicyServiceDependencies {
  readonly store: PolicyStore;
  readonly resolver: PolicyResolver & { invalidate(registry: string): void };
  readonly effects: PolicyEffects;
  readonly readiness: (registry: string, log: Logger) => Promise<RegistryReadiness>;
  readonly now: () => Date;
}

/**
 * Policy use cases behind the HTTP API. Every write is ETag-conditional; every write attempt that passes
 * validation and authorization — applied, or refused for a stale ETag — is appended to the history with the caller,
 * so concurrent edits leave a readable trail. Invalid or unauthorized requests write nothing.
 */
export class PolicyService {
  constructor(private readonly deps: PolicyServiceDependencies) {}

  async get(registry: string, scope: string): Promise<{ resource: PolicyResource; etag: string }> {
    const stored = await this.deps.store.get(registry, checkedScope(scope));
    if (stored === undefined) throw new NotFoundError(`No policy at scope ${scope} of ${registry}.`);
    return { resource: toResource(stored.value), etag: stored.etag };
  }

  async list(registry: string, page: { pageSize: number; continuationToken?: string }) {
    const result = await this.deps.store.list(registry, page);
    return {
      items: result.items.map(({ value, etag }) => ({ ...toResource(value), etag })),
      ...(result.continuationToken ? { continuationToken: result.continuationToken } : {}),
    };
  }

  /** Creates (201) or replaces (200); replacing needs If-Match, `If-None-Match: *` only creates. */
  async put(registry: string, scope: string, body: unknown, conditions: Conditions, principal: Principal, log: Logger) {
    checkedScope(scope);
    const policy = parsePolicy(body);
    const existing = await this.deps.store.get(registry, scope);
    const now = this.deps.now().toISOString();
    if (existing === undefined) {
      if (conditions.ifMatch !== undefined && conditions.ifMatch !== '*')
        throw new PreconditionFailedError(`No policy exists at ${scope} to match If-Match.`);
      this.authorize(principal, policy.owners, 'create', scope);
      const stored: StoredPolicy = {
        registry,
        scope,
        apiVersion: policyApiVersion,
        policy,
        createdAt: now,
        createdBy: principal.id,
        updatedAt: now,
        updatedBy: principal.id,
      };
      const etag = await this.deps.store.create(stored);
      if (etag === undefined) {
        await this.record(registry, scope, principal, 'create', 'conflict', undefined, policy);
        throw new PreconditionFailedError(
          `A policy was created at ${scope} concurrently; read it and retry with If-Match.`,
        );
      }
      await this.record(registry, scope, principal, 'create', 'applied', undefined, policy);
      return { created: true, etag, resource: await this.applied(stored, undefined, principal, log) };
    }
    if (conditions.ifNoneMatch === '*')
      throw new PreconditionFailedError(`A policy already exists at ${scope} (If-None-Match: *).`);
    if (conditions.ifMatch === undefined)
      throw new PreconditionRequiredError('Replacing a policy needs If-Match with the ETag you read.', [
        { field: 'headers.if-match', reason: 'required to replace' },
      ]);
    return {
      created: false,
      ...(await this.replace(existing.value, existing.etag, policy, conditions.ifMatch, principal, 'replace', log)),
    };
  }

  /** JSON merge patch (RFC 7386) of the stored policy; needs If-Match. */
  async patch(
    registry: string,
    scope: string,
    patch: unknown,
    conditions: Conditions,
    principal: Principal,
    log: Logger,
  ) {
    checkedScope(scope);
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
      throw new ValidationError('A merge patch must be a JSON object.', [
        { field: 'body', reason: 'must be an object' },
      ]);
    if (nestedDeeperThan(patch, maxPatchDepth))
      throw new ValidationError(`A merge patch may nest at most ${maxPatchDepth} levels.`, [
        { field: 'body', reason: `nested deeper than ${maxPatchDepth} levels` },
      ]);
    if (conditions.ifMatch === undefined)
      throw new PreconditionRequiredError('PATCH needs If-Match with the ETag you read.', [
        { field: 'headers.if-match', reason: 'required' },
      ]);
    const existing = await this.deps.store.get(registry, scope);
    if (existing === undefined) throw new NotFoundError(`No policy at scope ${scope} of ${registry}.`);
    const policy = parsePolicy(mergePatch(existing.value.policy, patch));
    return this.replace(existing.value, existing.etag, policy, conditions.ifMatch, principal, 'patch', log);
  }

  async delete(
    registry: string,
    scope: string,
    conditions: Conditions,
    principal: Principal,
    log: Logger,
  ): Promise<void> {
    checkedScope(scope);
    const existing = await this.deps.store.get(registry, scope);
    if (existing === undefined) throw new NotFoundError(`No policy at scope ${scope} of ${registry}.`);
    this.authorize(principal, existing.value.policy.owners, 'delete', scope);
    const outcome: DeleteOutcome =
      conditions.ifMatch !== undefined && conditions.ifMatch !== '*' && conditions.ifMatch !== existing.etag
        ? 'precondition-failed'
        : await this.deps.store.delete(registry, scope, conditions.ifMatch === '*' ? undefined : conditions.ifMatch);
    if (outcome === 'precondition-failed') {
      await this.record(registry, scope, principal, 'delete', 'precondition-failed', existing.value.policy, undefined);
      throw new PreconditionFailedError(`The policy at ${scope} changed since you read it.`);
    }
    await this.record(registry, scope, principal, 'delete', 'applied', existing.value.policy, undefined);
    this.deps.resolver.invalidate(registry);
    await this.deps.effects.apply(
      { registry, scope, before: existing.value.policy, after: undefined, principal: principal.id },
      log,
    );
  }

  async history(registry: string, scope: string, page: { pageSize: number; continuationToken?: string }) {
    return this.deps.store.historyOf(registry, checkedScope(scope), page);
  }

  /** Dry run: what would happen to an image, under which policy, and why. Acts on nothing. */
  async evaluate(
    registry: string,
    input: z.infer<typeof evaluationBody>,
    log: Logger,
  ): Promise<{ decision: Decision; scope: string; policy: Policy; candidates: string[] }> {
    const applied = await this.deps.resolver.policyFor(registry, input.repository);
    const [os = 'linux', architecture = 'amd64'] = (input.platform ?? 'linux/amd64').split('/');
    const readiness = await this.deps.readiness(registry, log);
    const decision = decide(
      applied.policy,
      {
        repository: input.repository,
        tags: input.tag ? [input.tag] : [],
        kind: 'image',
        platforms: [{ os, architecture }],
        sizeBytes: input.sizeBytes,
      },
      readiness,
    );
    return {
      decision,
      scope: applied.scope,
      policy: applied.policy,
      candidates: await this.deps.resolver.candidates(registry, input.repository),
    };
  }

  private async replace(
    existing: StoredPolicy,
    etag: string,
    policy: Policy,
    ifMatch: string,
    principal: Principal,
    action: 'replace' | 'patch',
    log: Logger,
  ) {
    this.authorize(principal, existing.policy.owners, action, existing.scope);
    const now = this.deps.now().toISOString();
    const next: StoredPolicy = {
      ...existing,
      apiVersion: policyApiVersion,
      policy,
      updatedAt: now,
      updatedBy: principal.id,
    };
    const written = ifMatch === '*' || ifMatch === etag ? await this.deps.store.replace(next, etag) : undefined;
    if (written === undefined) {
      await this.record(
        existing.registry,
        existing.scope,
        principal,
        action,
        'precondition-failed',
        existing.policy,
        policy,
      );
      throw new PreconditionFailedError(
        `The policy at ${existing.scope} changed since you read it; read it again and retry.`,
      );
    }
    await this.record(existing.registry, existing.scope, principal, action, 'applied', existing.policy, policy);
    return { etag: written, resource: await this.applied(next, existing.policy, principal, log) };
  }

  private async applied(
    stored: StoredPolicy,
    before: Policy | undefined,
    principal: Principal,
    log: Logger,
  ): Promise<PolicyResource> {
    this.deps.resolver.invalidate(stored.registry);
    const change: PolicyChange = {
      registry: stored.registry,
      scope: stored.scope,
      before,
      after: stored.policy,
      principal: principal.id,
    };
    const effects = await this.deps.effects.apply(change, log);
    return { ...toResource(stored), ...(effects.native || effects.backfill ? { effects } : {}) };
  }

  /** Admins may change any policy; writers only those whose owners include them (or that they create as owner). */
  private authorize(principal: Principal, owners: readonly string[], action: string, scope: string): void {
    if (isAdmin(principal)) return;
    const names = [principal.id, principal.name]
      .filter((value): value is string => value !== undefined)
      .map((value) => value.toLowerCase());
    if (owners.some((owner) => names.includes(owner.toLowerCase()))) return;
    throw new ForbiddenError(
      action === 'create'
        ? `Only Streaming.Admin may create a policy that does not list the caller in owners; add "${principal.id}" to owners.`
        : `The caller is not an owner of the policy at ${scope} (owners: ${owners.join(', ') || 'none'}); ask an owner or a Streaming.Admin.`,
      [{ field: 'owners', reason: 'caller is not an owner' }],
    );
  }

  private async record(
    registry: string,
    scope: string,
    principal: Principal,
    action: PolicyHistoryEntry['action'],
    outcome: PolicyHistoryEntry['outcome'],
    before: Policy | undefined,
    after: Policy | undefined,
  ): Promise<void> {
    await this.deps.store.appendHistory({
      registry,
      scope,
      time: this.deps.now().toISOString(),
      principal: principal.id,
      action,
      outcome,
      ...(before ? { before } : {}),
      ...(after ? { after } : {}),
    });
  }
}

function checkedScope(scope: string): string {
  const parsed = parseScope(scope);
  if (!parsed.ok)
    throw new ValidationError(`Invalid scope "${scope.slice(0, 100)}": ${parsed.reason}.`, [
      { field: 'params.scope', reason: parsed.reason },
    ]);
  return scope;
}

function parsePolicy(body: unknown): Policy {
  let document = body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'apiVersion' in body) {
    const { apiVersion, ...rest } = body as Record<string, unknown>;
    if (apiVersion !== policyApiVersion)
      throw new ValidationError(`apiVersion must be ${policyApiVersion}.`, [
        { field: 'body.apiVersion', reason: `unsupported; use ${policyApiVersion}` },
      ]);
    document = rest;
  }
  const result = policySchema.safeParse(document);
  if (!result.success) throw validationErrorFrom(result.error, 'body');
  return result.data;
}

/**
 * A policy nests three levels; a deeper patch can only be invalid, and merging it recursively could exhaust the stack
 * (a 500).
 */
const maxPatchDepth = 16;

/** Bounded by `depth`, so it cannot itself overflow on a 64 KiB body of `{"a":{"a":…}}`. */
function nestedDeeperThan(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth === 0) return true;
  return Object.values(value).some((child) => nestedDeeperThan(child, depth - 1));
}

/** RFC 7386: objects merge recursively, `null` removes a member (so the default applies again), the rest replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  // Null prototype: a member named "__proto__" (JSON.parse makes it an own property) stays a member instead of
  // replacing the result's prototype, so the schema sees it and rejects it like any unknown field.
  const result = Object.create(null) as Record<string, unknown>;
  if (typeof target === 'object' && target !== null && !Array.isArray(target)) Object.assign(result, target);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function toResource(stored: StoredPolicy): PolicyResource {
  return {
    apiVersion: stored.apiVersion,
    registry: stored.registry,
    scope: stored.scope,
    policy: stored.policy,
    createdAt: stored.createdAt,
    createdBy: stored.createdBy,
    updatedAt: stored.updatedAt,
    updatedBy: stored.updatedBy,
  };
}
