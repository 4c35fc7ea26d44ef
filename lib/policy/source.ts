import type { AppliedPolicy, Policy, PolicySource } from './model.js';
import type { StoredPolicy } from './ports.js';
import { compareSpecificity, mostSpecific, parseScope, scopeMatches, settingScope, type PolicyScope } from './scope.js';

export { settingScope };

export interface StoredPolicies {
  all(registry: string): Promise<StoredPolicy[]>;
}

/** Which stored policy governs a repository, most specific first; the DEFAULT_POLICY setting when none does. */
export interface PolicyResolver extends PolicySource {
  /** Every stored scope that matches, most specific first (for explanations). */
  candidates(registry: string, repository: string): Promise<string[]>;
}

/**
 * Stored policies, read per registry and cached briefly: every instance sees a change within `cacheMs`, and a
 * burst of pushes costs one table query, not one per event.
 */
export function storedPolicySource(
  store: StoredPolicies,
  fallback: Policy,
  cacheMs = 15_000,
  now: () => number = Date.now,
): PolicyResolver & { invalidate(registry: string): void } {
  const cache = new Map<
    string,
    { at: number; policies: Promise<Array<{ scope: PolicyScope; stored: StoredPolicy }>> }
  >();
  const load = (registry: string): Promise<Array<{ scope: PolicyScope; stored: StoredPolicy }>> => {
    const cached = cache.get(registry);
    if (cached && now() - cached.at < cacheMs) return cached.policies;
    const policies = store.all(registry).then((all) =>
      all.flatMap((stored) => {
        const parsed = parseScope(stored.scope);
        return parsed.ok ? [{ scope: parsed.scope, stored }] : [];
      }),
    );
    cache.set(registry, { at: now(), policies });
    policies.catch(() => cache.delete(registry));
    return policies;
  };
  return {
    async policyFor(registry, repository): Promise<AppliedPolicy> {
      const match = mostSpecific(await load(registry), repository);
      return match
        ? { policy: match.stored.policy, scope: match.stored.scope }
        : { policy: fallback, scope: settingScope };
    },
    async candidates(registry, repository) {
      const matching = (await load(registry)).filter(({ scope }) => scopeMatches(scope, repository));
      return matching.sort((a, b) => compareSpecificity(a.scope, b.scope)).map(({ stored }) => stored.scope);
    },
    invalidate(registry) {
      cache.delete(registry);
    },
  };
}
