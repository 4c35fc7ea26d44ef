import pLimit from 'p-limit';
import type { Logger } from '../core/logging.js';
import type { RegistryDataPlane } from '../core/acr.js';
import type { Policy, PolicySource } from './model.js';
import type { PolicyChange } from './ports.js';
import { compareSpecificity, parseScope, sameScope, scopeMatches, type PolicyScope } from './scope.js';
import type { SwitchReconciler } from './drift.js';

/** The registry calls native mode makes (lib/registry/client.ts implements them). */
export type NativeRegistry = Pick<
  RegistryDataPlane,
  'listRepositories' | 'getRepositoryStreaming' | 'setRepositoryStreaming'
>;

export interface NativeModeDependencies {
  readonly registry: (name: string) => Pick<NativeRegistry, 'listRepositories'>;
  /**
   * Which stored policy governs a repository once the change is stored, precedence applied (exact, then the most
   * specific glob, then `_default`): a repository governed by a more specific scope is left to that policy.
   */
  readonly policies: PolicySource;
  /** Sets, reads back and records drift (lib/policy/drift.ts); the audit uses the same one. */
  readonly switches: Pick<SwitchReconciler, 'reconcile'>;
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
 * records a drift episode (one `policy.drift` alert) wherever ACR disagrees (lib/policy/drift.ts).
 *
 * Idempotent: the switch is only written where it differs, and an open drift episode is not opened again. A
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
    repositories.map((repository) => limit(() => applyToRepository(deps, change, scope, repository, log))),
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
  const checked = await deps.switches.reconcile(
    {
      registry: change.registry,
      repository,
      scope: change.after ? change.scope : governing.scope,
      expected: policy.mode === 'native',
      origin: 'policy-change',
    },
    log,
  );
  if (checked === undefined) return undefined;
  log.info(`${change.registry}/${repository}: ACR converts pushes: ${checked.convertPushedImages}`, fields);
  return { repository, convertPushedImages: checked.convertPushedImages, drift: checked.drift };
}

/** Whether `candidate` (a stored scope's text) wins over `scope` for a repository both match. */
function moreSpecific(candidate: string, scope: PolicyScope): boolean {
  const parsed = parseScope(candidate);
  return parsed.ok && compareSpecificity(parsed.scope, scope) < 0;
}
