import { describe, expect, it } from 'vitest';
import { silentLogger as log } from '../../../../lib/core/logging.js';
import {
  policySchema,
  type AppliedPolicy,
  type Policy,
  type PolicyInput,
  type PolicySource,
} from '../../../../lib/policy/model.js';
import { applyNativeMode, touchesNative, type NativeRegistry } from '../../../../lib/policy/native.js';
import type { PolicyChange } from '../../../../lib/policy/ports.js';
import { mostSpecific, parseScope, type PolicyScope } from '../../../../lib/policy/scope.js';
import { AcrError } from '../../../../lib/core/errors.js';
import type { RepositoryStreaming } from '../../../../lib/core/acr.js';
import { ManualClock } from '../../../support/fakes/clock.js';
import { InMemoryOutbox } from '../../../support/fakes/outbox.js';
import { MemoryDriftStore } from '../../../support/fakes/drift-store.js';
import { SwitchReconciler } from '../../../../lib/policy/drift.js';

const policy = (input: PolicyInput = {}): Policy => policySchema.parse(input);
const native = policy({ mode: 'native' });
const onPush = policy({ mode: 'onPush' });

/** ACR's per-repository switch in memory; `sticky` repositories ignore writes (drift), `refuse` answers 403. */
class FakeAcr implements NativeRegistry {
  readonly switches = new Map<string, boolean>();
  readonly writes: Array<{ repository: string; convertPushedImages: boolean }> = [];
  readonly sticky = new Set<string>();
  refuse: AcrError | undefined;
  failNextWrite: AcrError | undefined;

  constructor(repositories: readonly string[]) {
    for (const repository of repositories) this.switches.set(repository, false);
  }

  listRepositories(): Promise<string[]> {
    return Promise.resolve([...this.switches.keys()].sort());
  }

  getRepositoryStreaming(repository: string): Promise<RepositoryStreaming> {
    const value = this.switches.get(repository);
    if (value === undefined) return Promise.reject(acrError(404, 'NAME_UNKNOWN'));
    return Promise.resolve({ convertPushedImages: value });
  }

  setRepositoryStreaming(repository: string, convertPushedImages: boolean): Promise<RepositoryStreaming> {
    this.writes.push({ repository, convertPushedImages });
    const failure = this.failNextWrite ?? this.refuse;
    this.failNextWrite = undefined;
    if (failure) return Promise.reject(failure);
    if (!this.sticky.has(repository)) this.switches.set(repository, convertPushedImages);
    return Promise.resolve({ convertPushedImages });
  }
}

/** Stored policies with the real precedence rules; nothing stored → the fallback at `_default`. */
function storedPolicies(stored: Record<string, Policy>, fallback: Policy = policy()): PolicySource {
  const candidates = Object.entries(stored).map(([text, value]) => ({
    scope: (parseScope(text) as { ok: true; scope: PolicyScope }).scope,
    text,
    value,
  }));
  return {
    policyFor: (_registry, repository): Promise<AppliedPolicy> => {
      const match = mostSpecific(candidates, repository);
      return Promise.resolve(
        match ? { scope: match.text, policy: match.value } : { scope: '_default', policy: fallback },
      );
    },
  };
}

function acrError(status: number, code: string): AcrError {
  return new AcrError(`ACR answered ${status} ${code}`, {
    status,
    code,
    correlationId: 'corr-1',
    method: 'POST',
    path: '/acr/v1/x/_streaming',
  });
}

const repositories = ['team-a/app', 'team-a/web', 'team-a/web/legacy', 'team-b/api', 'tools'];

function setup(stored: Record<string, Policy>, options: { repositories?: readonly string[]; fallback?: Policy } = {}) {
  const acr = new FakeAcr(options.repositories ?? repositories);
  const outbox = new InMemoryOutbox();
  const drift = new MemoryDriftStore();
  const clock = new ManualClock('2026-03-01T12:00:00.000Z');
  const deps = {
    registry: () => acr,
    policies: storedPolicies(stored, options.fallback),
    switches: new SwitchReconciler({ registry: () => acr, store: drift, outbox, clock }),
  };
  const apply = (change: Omit<PolicyChange, 'registry' | 'principal'>) =>
    applyNativeMode(deps, { registry: 'contoso', principal: 'alice', ...change }, log);
  return { acr, outbox, apply, drift };
}

describe('native mode', () => {
  it("turns ACR's switch on for an exact scope and reports what ACR reads back", async () => {
    const { acr, outbox, apply } = setup({ 'team-a/app': native });

    const report = await apply({ scope: 'team-a/app', before: onPush, after: native });

    expect(report).toEqual([{ repository: 'team-a/app', convertPushedImages: true, drift: false }]);
    expect(acr.writes).toEqual([{ repository: 'team-a/app', convertPushedImages: true }]);
    expect(outbox.drifts).toEqual([]);
  });

  it('for a glob, switches every matching repository except those a more specific policy governs', async () => {
    const { acr, apply } = setup({ 'team-a/**': native, 'team-a/web': onPush });

    const report = await apply({ scope: 'team-a/**', before: undefined, after: native });

    expect(report?.map((entry) => entry.repository)).toEqual(['team-a/app', 'team-a/web/legacy']);
    expect(acr.switches.get('team-a/web')).toBe(false);
    expect(acr.switches.get('team-b/api')).toBe(false);
    expect(acr.switches.get('team-a/web/legacy')).toBe(true);
  });

  it('for _default, switches every repository that no stored scope claims', async () => {
    const { acr, apply } = setup({ _default: native, 'team-b/*': onPush });

    await apply({ scope: '_default', before: undefined, after: native });

    expect([...acr.switches.entries()].filter(([, on]) => on).map(([repository]) => repository)).toEqual([
      'team-a/app',
      'team-a/web',
      'team-a/web/legacy',
      'tools',
    ]);
  });

  it('turns the switch off when a scope moves away from native, so ACR and the app never both convert', async () => {
    const { acr, apply } = setup({ 'team-a/*': native });
    await apply({ scope: 'team-a/*', before: undefined, after: native });

    const report = await apply({ scope: 'team-a/*', before: native, after: onPush });

    expect(report).toEqual([
      { repository: 'team-a/app', convertPushedImages: false, drift: false },
      { repository: 'team-a/web', convertPushedImages: false, drift: false },
    ]);
    expect(acr.writes.filter((write) => !write.convertPushedImages)).toHaveLength(2);
  });

  it('on delete, hands repositories to the policy that governs them now: off, unless that one is native too', async () => {
    const { acr, apply } = setup({}, { fallback: onPush });
    acr.switches.set('team-a/app', true);
    acr.switches.set('tools', true);

    const report = await apply({ scope: 'team-a/*', before: native, after: undefined });

    expect(report).toEqual([
      { repository: 'team-a/app', convertPushedImages: false, drift: false },
      { repository: 'team-a/web', convertPushedImages: false, drift: false },
    ]);
    expect(acr.switches.get('tools')).toBe(true);

    const nativeDefault = setup({}, { fallback: native });
    nativeDefault.acr.switches.set('team-a/app', true);
    await nativeDefault.apply({ scope: 'team-a/*', before: native, after: undefined });
    expect(nativeDefault.acr.switches.get('team-a/app')).toBe(true);
  });

  it('writes only where the switch differs', async () => {
    const { acr, apply } = setup({ 'team-a/*': native });
    acr.switches.set('team-a/app', true);

    await apply({ scope: 'team-a/*', before: native, after: native });

    expect(acr.writes).toEqual([{ repository: 'team-a/web', convertPushedImages: true }]);
  });

  it('records drift when ACR reads back another value, once however often the change is applied', async () => {
    const { acr, outbox, apply } = setup({ 'team-a/app': native });
    acr.sticky.add('team-a/app');
    const change = { scope: 'team-a/app', before: onPush, after: native };

    const report = await apply(change);
    await apply(change);

    expect(report).toEqual([{ repository: 'team-a/app', convertPushedImages: false, drift: true }]);
    expect(outbox.drifts).toHaveLength(1);
    expect(outbox.drifts[0]).toMatchObject({
      type: 'policy.drift',
      registry: 'contoso',
      repository: 'team-a/app',
      scope: 'team-a/app',
      expected: true,
      actual: false,
      time: '2026-03-01T12:00:00.000Z',
    });
    expect(outbox.drifts[0]!.id).toBe('policy.drift:team-a:app:e1:found');
  });

  it("reports a refusal (a registry that is not Premium) as drift with ACR's message, and rethrows transient failures", async () => {
    const refused = setup({ 'team-a/app': native });
    refused.acr.refuse = acrError(403, 'DENIED');
    const report = await refused.apply({ scope: 'team-a/app', before: undefined, after: native });
    expect(report).toEqual([{ repository: 'team-a/app', convertPushedImages: false, drift: true }]);
    expect(refused.outbox.drifts[0]?.message).toContain('403 DENIED');

    const throttled = setup({ 'team-a/app': native });
    throttled.acr.failNextWrite = acrError(503, 'SERVICE_UNAVAILABLE');
    await expect(throttled.apply({ scope: 'team-a/app', before: undefined, after: native })).rejects.toThrow(AcrError);
    expect(throttled.outbox.drifts).toEqual([]);
  });

  it('skips an exact scope whose repository does not exist yet', async () => {
    const { acr, apply } = setup({ 'team-z/new': native });

    expect(await apply({ scope: 'team-z/new', before: undefined, after: native })).toEqual([]);
    expect(acr.writes).toEqual([]);
  });

  it('leaves ACR alone when neither side of the change is native', async () => {
    const { acr, apply } = setup({ 'team-a/*': onPush });

    expect(await apply({ scope: 'team-a/*', before: policy(), after: onPush })).toBeUndefined();
    expect(acr.writes).toEqual([]);
    expect(touchesNative({ before: native, after: undefined })).toBe(true);
    expect(touchesNative({ before: undefined, after: onPush })).toBe(false);
  });
});
