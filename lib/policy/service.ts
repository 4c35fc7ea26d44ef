import { digestSchema, repositoryNameSchema } from '../core/name-schemas.js';
import { isTag } from '../core/names.js';
import { z } from '../core/zod.js';
import {
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  PreconditionRequiredError,
  ValidationError,
  validationErrorFrom,
} from '../core/errors.js';
import { hasRole, isAdmin, type Principal } from '../core/principal.js';
import type { Logger } from '../core/logging.js';
import { decide, type Decision, type ImageFacts, type RegistryReadiness } from './eligibility.js';
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
import { isRegistryWide, ownsScope, scopesTakenOver } from './ownership.js';
import { defaultScope, parseScope } from './scope.js';
import type { PolicyResolver } from './source.js';

/** What an evaluation answers: the decision, the policy that made it, and the image it was made on. */
export interface Evaluation {
  readonly decision: Decision;
  readonly scope: string;
  readonly policy: Policy;
  readonly candidates: string[];
  readonly image: {
    /** `registry`: the image the tag or digest names in ACR; `hypothetical`: the request's fields. */
    readonly source: 'registry' | 'hypothetical';
    readonly digest?: string;
    readonly kind: ImageFacts['kind'];
    readonly platforms: string[];
    readonly sizeBytes?: number;
    readonly tags: string[];
    readonly note?: string;
  };
}

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
    repository: repositoryNameSchema,
    tag: z.string().refine(isTag, 'not a tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}').optional(),
    digest: digestSchema.optional(),
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
  /** The alert channels the operator configured (ALERT_CHANNELS), by name: a policy may route only to these. */
  readonly alertChannels: () => readonly string[];
  /**
   * The image a tag or digest names in the registry, as the push path sees it (kind, platforms, size, tags), or
   * undefined when it does not exist: an evaluation decides on the real image where there is one.
   */
  readonly image?: (
    registry: string,
    repository: string,
    reference: string,
    log: Logger,
  ) => Promise<{ readonly digest: string; readonly facts: ImageFacts } | undefined>;
  readonly now: () => Date;
}

/**
 * Policy use cases behind the HTTP API. Every write is ETag-conditional; every write attempt that passes validation —
 * applied, refused for a stale ETag, or refused because the caller may not make it (with why) — is appended to the
 * history with the caller, so concurrent edits and attempts to override an owner leave a readable trail. Invalid
 * requests (400) write nothing. Who may write what: lib/policy/ownership.ts.
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
    const requested = this.parsePolicy(body);
    const existing = await this.deps.store.get(registry, scope);
    const now = this.deps.now().toISOString();
    if (existing === undefined) {
      // RFC 9110 § 13.1.1: If-Match (even `*`) is false when there is no current representation.
      if (conditions.ifMatch !== undefined)
        throw new PreconditionFailedError(`No policy exists at ${scope} to match If-Match.`, [
          { field: 'headers.if-match', reason: 'no policy to match; send If-None-Match: * to create' },
        ]);
      const policy = await this.authorizeCreate(registry, scope, requested, principal, log);
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
    const ifMatch = namedVersion(conditions, 'Replacing a policy', 'required to replace');
    return {
      created: false,
      ...(await this.replace(existing.value, existing.etag, requested, ifMatch, principal, 'replace', log)),
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
    const ifMatch = namedVersion(conditions, 'PATCH', 'required');
    const existing = await this.deps.store.get(registry, scope);
    if (existing === undefined) throw new NotFoundError(`No policy at scope ${scope} of ${registry}.`);
    const policy = this.parsePolicy(mergePatch(existing.value.policy, patch));
    return this.replace(existing.value, existing.etag, policy, ifMatch, principal, 'patch', log);
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
    await this.authorizeChange(existing.value, undefined, principal, 'delete', log);
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

  /**
   * Dry run: what would happen to an image, under which policy, and why. Acts on nothing. When the tag or digest names
   * an image the registry holds, the decision is made on that image (its kind, platforms and size, from ACR, as the
   * push path reads them) and `image.source` says `registry`; otherwise on the fields given (`hypothetical`).
   */
  async evaluate(registry: string, input: z.infer<typeof evaluationBody>, log: Logger): Promise<Evaluation> {
    const applied = await this.deps.resolver.policyFor(registry, input.repository);
    const readiness = await this.deps.readiness(registry, log);
    const reference = input.digest ?? input.tag;
    let found: { digest: string; facts: ImageFacts } | undefined;
    let note: string | undefined;
    if (reference !== undefined && this.deps.image !== undefined) {
      try {
        found = await this.deps.image(registry, input.repository, reference, log);
      } catch (error) {
        // A dry run still answers when ACR does not: on the fields given, saying why.
        note = `the registry could not be read (${error instanceof Error ? error.message.slice(0, 200) : 'error'})`;
        log.warn(`evaluation of ${registry}/${input.repository}@${reference}: ${note}`, {
          registry,
          repository: input.repository,
        });
      }
    }
    const [os = 'linux', architecture = 'amd64'] = (input.platform ?? 'linux/amd64').split('/');
    const facts: ImageFacts = found
      ? {
          ...found.facts,
          tags:
            input.tag && !found.facts.tags.includes(input.tag) ? [...found.facts.tags, input.tag] : found.facts.tags,
        }
      : {
          repository: input.repository,
          tags: input.tag ? [input.tag] : [],
          kind: 'image',
          platforms: [{ os, architecture }],
          sizeBytes: input.sizeBytes,
        };
    const ignored = found ? (['platform', 'sizeBytes'] as const).filter((field) => input[field] !== undefined) : [];
    return {
      decision: decide(applied.policy, facts, readiness),
      scope: applied.scope,
      policy: applied.policy,
      candidates: await this.deps.resolver.candidates(registry, input.repository),
      image: {
        source: found ? 'registry' : 'hypothetical',
        ...(found ? { digest: found.digest } : {}),
        kind: facts.kind,
        platforms: facts.platforms.map((platform) => `${platform.os}/${platform.architecture}`),
        ...(facts.sizeBytes === undefined ? {} : { sizeBytes: facts.sizeBytes }),
        tags: [...facts.tags],
        ...(note ? { note } : {}),
        ...(ignored.length > 0
          ? { note: `the registry's image was evaluated; ${ignored.join(' and ')} given in the request were not used` }
          : {}),
      },
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
    await this.authorizeChange(existing, policy, principal, action, log);
    const now = this.deps.now().toISOString();
    const next: StoredPolicy = {
      ...existing,
      apiVersion: policyApiVersion,
      policy,
      updatedAt: now,
      updatedBy: principal.id,
    };
    const written = ifMatch === etag ? await this.deps.store.replace(next, etag) : undefined;
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

  /**
   * A create: `_default` and registry-wide globs are Admin-only; a writer must own every scope the new one would take
   * repositories from (lib/policy/ownership.ts), and becomes an owner of what they create. Returns the policy to store.
   */
  private async authorizeCreate(
    registry: string,
    scope: string,
    policy: Policy,
    principal: Principal,
    log: Logger,
  ): Promise<Policy> {
    const refuse = (detail: string, reason: string): Promise<never> =>
      this.refuse({ registry, scope, principal, action: 'create', after: policy }, detail, reason, 'params.scope', log);
    if (!hasRole(principal, 'Streaming.Write'))
      return this.refuseRole(registry, scope, principal, 'create', policy, log);
    if (isAdmin(principal)) return policy;
    const parsed = parseScope(scope);
    if (!parsed.ok) throw new Error(`scope ${scope} was checked`);
    if (isRegistryWide(parsed.scope))
      return refuse(
        scope === defaultScope
          ? `Only Streaming.Admin may set the registry default (${defaultScope}): it governs every repository no other policy claims.`
          : `Only Streaming.Admin may create ${scope}: a glob whose fixed prefix names no namespace (no "/") reaches across every team's repositories. Scope it to a namespace, such as team-a/**.`,
        'Admin-only: registry-wide scope',
      );
    const stored = await this.deps.store.all(registry);
    const ownersOf = new Map(stored.map((entry) => [entry.scope, entry.policy.owners]));
    const names = callerNames(principal);
    const notOwned = scopesTakenOver(parsed.scope, [...ownersOf.keys()]).filter(
      (taken) => !ownsScope(ownersOf.get(taken) ?? [], names),
    );
    if (notOwned.length > 0)
      return refuse(
        `Creating ${scope} would take repositories from ${notOwned.map(describeScope).join(', ')}, which the caller does not own. Ask an owner of ${notOwned.length === 1 ? 'that scope' : 'those scopes'} or a Streaming.Admin to create it, or to add you to their owners.`,
        `would take over ${notOwned.join(', ')}, not owned by the caller`,
      );
    return ownsScope(policy.owners, names) ? policy : { ...policy, owners: [...policy.owners, principal.id] };
  }

  /** A replace, patch or delete: the caller owns the scope (or is an admin); `_default` is Admin-only. */
  private async authorizeChange(
    existing: StoredPolicy,
    after: Policy | undefined,
    principal: Principal,
    action: 'replace' | 'patch' | 'delete',
    log: Logger,
  ): Promise<void> {
    const { registry, scope } = existing;
    const attempt = { registry, scope, principal, action, before: existing.policy, after };
    if (!hasRole(principal, 'Streaming.Write'))
      return this.refuseRole(registry, scope, principal, action, after, log, existing.policy);
    if (isAdmin(principal)) return;
    if (scope === defaultScope)
      return this.refuse(
        attempt,
        `Only Streaming.Admin may change the registry default (${defaultScope}): it governs every repository no other policy claims.`,
        'Admin-only: registry-wide scope',
        'params.scope',
        log,
      );
    const owners = existing.policy.owners;
    if (ownsScope(owners, callerNames(principal))) return;
    return this.refuse(
      attempt,
      `The caller is not an owner of the policy at ${scope} (owners: ${owners.join(', ') || 'none'}); ask an owner or a Streaming.Admin.`,
      'caller is not an owner',
      'owners',
      log,
    );
  }

  private refuseRole(
    registry: string,
    scope: string,
    principal: Principal,
    action: PolicyHistoryEntry['action'],
    after: Policy | undefined,
    log: Logger,
    before?: Policy,
  ): Promise<never> {
    return this.refuse(
      { registry, scope, principal, action, before, after },
      'The caller lacks the app role Streaming.Write.',
      'requires Streaming.Write',
      'roles',
      log,
    );
  }

  /** A refused write leaves a trace: a history entry saying who asked what and why not. Then 403. */
  private async refuse(
    attempt: {
      registry: string;
      scope: string;
      principal: Principal;
      action: PolicyHistoryEntry['action'];
      before?: Policy | undefined;
      after?: Policy | undefined;
    },
    detail: string,
    reason: string,
    field: string,
    log: Logger,
  ): Promise<never> {
    const { registry, scope, principal, action } = attempt;
    // The HTTP layer logs every 403 with the caller (lib/http/route.ts); this line adds what was asked.
    log.info(`policy ${registry}/${scope}: ${action} refused for ${principal.id}: ${reason}`, {
      registry,
      scope,
      caller: principal.id,
      action,
      reason,
    });
    await this.record(registry, scope, principal, action, 'forbidden', attempt.before, attempt.after, reason);
    throw new ForbiddenError(detail, [{ field, reason }]);
  }

  /** The policy schema, and alert channels that exist: a policy routing to a channel nobody configured is a 400. */
  private parsePolicy(body: unknown): Policy {
    const policy = parsePolicy(body);
    const configured = this.deps.alertChannels();
    const unknown = policy.alerts.channels.filter((channel) => !configured.includes(channel));
    if (unknown.length > 0)
      throw new ValidationError(
        `The policy routes alerts to ${unknown.map((c) => `"${c}"`).join(', ')}, which ${unknown.length === 1 ? 'is not a configured channel' : 'are not configured channels'} (configured: ${configured.join(', ') || 'none'}).`,
        unknown.map((channel) => ({
          field: `body.alerts.channels.${policy.alerts.channels.indexOf(channel)}`,
          reason: `no alert channel named "${channel}" is configured`,
        })),
      );
    return policy;
  }

  private async record(
    registry: string,
    scope: string,
    principal: Principal,
    action: PolicyHistoryEntry['action'],
    outcome: PolicyHistoryEntry['outcome'],
    before: Policy | undefined,
    after: Policy | undefined,
    reason?: string,
  ): Promise<void> {
    await this.deps.store.appendHistory({
      registry,
      scope,
      time: this.deps.now().toISOString(),
      principal: principal.id,
      ...(principal.name && principal.name !== principal.id ? { principalName: principal.name } : {}),
      action,
      outcome,
      ...(reason ? { reason } : {}),
      ...(before ? { before } : {}),
      ...(after ? { after } : {}),
    });
  }
}

function callerNames(principal: Principal): string[] {
  return [principal.id, principal.name].filter((value): value is string => value !== undefined);
}

function describeScope(scope: string): string {
  return scope === defaultScope ? `the registry default (${defaultScope}, Admin-only)` : scope;
}

/** The ETag a change replaces: required, and `*` names no version (a blind overwrite of someone else's edit). */
function namedVersion(conditions: Conditions, what: string, missing: string): string {
  if (conditions.ifMatch === undefined)
    throw new PreconditionRequiredError(`${what} needs If-Match with the ETag you read.`, [
      { field: 'headers.if-match', reason: missing },
    ]);
  if (conditions.ifMatch === '*')
    throw new PreconditionRequiredError(
      `${what} needs If-Match with the ETag you read; "*" names no version and would overwrite changes you have not seen.`,
      [{ field: 'headers.if-match', reason: '"*" is not accepted: send the ETag' }],
    );
  return conditions.ifMatch;
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
