import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { Clock } from '../core/clock.js';
import type { Outbox } from '../core/outbox.js';
import { repositoryKey } from '../core/image.js';
import type { Logger } from '../core/logging.js';
import type { RegistryDataPlane, RepositoryStreaming } from '../core/acr.js';
import { isAcrError } from '../core/errors.js';
import type { Policy, PolicySource } from './model.js';
import type { PolicyChange } from './ports.js';
import { compareSpecificity, parseScope, sameScope, scopeMatches, type PolicyScope } from './scope.js';

/** The registry calls native mode makes (lib/registry/client.ts implements them). */
export type NativeRegistry = Pick<
  RegistryDataPlane,
  'listRepositories' | 'getRepositoryStreaming' | 'setRepositoryStreaming'
>;

export interface NativeModeDependencies {
  readonly registry: (name: string) => NativeRegistry;
  /**
   * Which stored policy governs a repository once the change is stored, precedence applied (exact, then the most
   * specific glob, then `_default`): a repository governed by a more specific scope is left to that policy.
   */
  readonly policies: PolicySource;
  readonly outbox: Outbox;
  readonly clock: Clock;
  /** Repositories handled at once (each costs two to three ACR calls); default 4. */
  readonly concurrency?: number;
}

export interface NativeRepositoryResult {
  readonly repository: string;
  /** ACR's switch as read back after setting it. */
  readonly convertPushedImages: boolean;
  /** ACR disagrees with what the governing policy wants (it refused the change, or reports another value). */
  readonly drift: boolean;
}

/** Whether a change concerns ACR's own switch: it makes a scope native or takes it away from native. */
export function touchesNative(change: Pick<PolicyChange, 'before' | 'after'>): boolean {
  return change.before?.mode === 'native' || change.after?.mode === 'native';
}

/**
 * `mode: native`: ACR converts pushes itself once a repository's `convertPushedImages` is on. For the changed
 * scope's repositories — the exact one, or every existing repository a glob or `_default` matches that no more
 * specific policy claims — sets the switch to what the governing policy now says (on for native; off when the
 * scope moved away from native or was deleted, so ACR and this app never both convert), reads it back, and
 * appends a `policy.drift` event wherever ACR disagrees.
 *
 * Idempotent: the switch is only written where it differs, and drift event ids derive from the change. A
 * repository that does not exist yet is skipped (ACR has no switch for it). Transient ACR failures are rethrown
 * so the caller can apply the change again; a refusal (403 on a registry that is not Premium, …) is reported as
 * drift.
 *
 * @returns one entry per repository examined, or undefined when the change does not touch native mode.
 */
export async function applyNativeMode(
  deps: NativeModeDependencies,
  change: PolicyChange,
  log: Logger,
): Promise<NativeRepositoryResult[] | undefined> {
  if (!touchesNative(change)) return undefined;
  const parsed = parseScope(change.scope);
  if (!parsed.ok) throw new Error(`invalid policy scope "${change.scope}": ${parsed.reason}`);
  const scope = parsed.scope;
  const acr = deps.registry(change.registry);
  const repositories =
    scope.kind === 'exact'
      ? [scope.text]
      : (await acr.listRepositories()).filter((repository) => scopeMatches(scope, repository));
  const limit = pLimit(deps.concurrency ?? 4);
  const results = await Promise.all(
    repositories.map((repository) => limit(() => applyToRepository(deps, acr, change, scope, repository, log))),
  );
  const applied = results.filter((result): result is NativeRepositoryResult => result !== undefined);
  log.info(
    `policy ${change.registry}/${change.scope}: ACR's switch checked on ${applied.length} repositories (${applied.filter((r) => r.drift).length} drifted)`,
    {
      registry: change.registry,
      scope: change.scope,
      repositories: applied.length,
    },
  );
  return applied;
}

async function applyToRepository(
  deps: NativeModeDependencies,
  acr: NativeRegistry,
  change: PolicyChange,
  scope: PolicyScope,
  repository: string,
  log: Logger,
): Promise<NativeRepositoryResult | undefined> {
  const fields = { registry: change.registry, repository, scope: change.scope };
  const governing = await deps.policies.policyFor(change.registry, repository);
  if (!sameScope(governing.scope, change.scope) && moreSpecific(governing.scope, scope)) {
    log.debug(
      `${change.registry}/${repository}: governed by the more specific policy ${governing.scope}; left alone`,
      fields,
    );
    return undefined;
  }
  // The stored change is authoritative for its own scope (the resolver may lag); a deleted scope hands its
  // repositories to whichever policy now governs them.
  const policy: Policy = change.after ?? governing.policy;
  const expected = policy.mode === 'native';
  let current: RepositoryStreaming;
  try {
    current = await acr.getRepositoryStreaming(repository);
  } catch (error) {
    if (isAcrError(error) && error.status === 404) {
      log.info(`${change.registry}/${repository}: no such repository yet; nothing to switch`, fields);
      return undefined;
    }
    throw error;
  }
  let refusal: string | undefined;
  if (current.convertPushedImages !== expected) {
    try {
      await acr.setRepositoryStreaming(repository, expected);
    } catch (error) {
      if (!isAcrError(error) || error.transient) throw error;
      refusal = error.message;
      log.warn(`${change.registry}/${repository}: ACR refused convertPushedImages=${expected}: ${error.message}`, {
        ...fields,
        errorCode: error.code,
      });
    }
    current = await acr.getRepositoryStreaming(repository);
  }
  const drift = current.convertPushedImages !== expected;
  if (drift) {
    const message =
      refusal ?? `ACR reports convertPushedImages=${current.convertPushedImages} after it was set to ${expected}`;
    await deps.outbox.append({
      id: `policy.drift:${repositoryKey(repository)}@${expected ? 'on' : 'off'}:${changeHash(change)}`,
      type: 'policy.drift',
      time: deps.clock.now().toISOString(),
      registry: change.registry,
      repository,
      scope: change.scope,
      expected,
      actual: current.convertPushedImages,
      message: message.slice(0, 1_000),
    });
    log.warn(`${change.registry}/${repository}: drift: ${message}`, fields);
  } else {
    log.info(`${change.registry}/${repository}: ACR converts pushes: ${current.convertPushedImages}`, fields);
  }
  return { repository, convertPushedImages: current.convertPushedImages, drift };
}

/** Whether `candidate` (a stored scope's text) wins over `scope` for a repository both match. */
function moreSpecific(candidate: string, scope: PolicyScope): boolean {
  const parsed = parseScope(candidate);
  return parsed.ok && compareSpecificity(parsed.scope, scope) < 0;
}

/** Same change applied again → same hash; `before` is left out because a retried request may see it already stored. */
function changeHash(change: PolicyChange): string {
  return createHash('sha256')
    .update(JSON.stringify([change.registry, change.scope, change.after ?? null]))
    .digest('hex')
    .slice(0, 16);
}
