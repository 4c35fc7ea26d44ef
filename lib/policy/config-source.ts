import type { AppliedPolicy, Policy, PolicySource } from './model.js';

/** The policy from configuration (DEFAULT_POLICY) for every repository, until stored policies exist. */
export function configPolicySource(policy: Policy): PolicySource {
  const applied: AppliedPolicy = { policy, scope: 'DEFAULT_POLICY' };
  return { policyFor: () => Promise.resolve(applied) };
}
