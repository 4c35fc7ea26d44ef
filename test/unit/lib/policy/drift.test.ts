import { describe, expect, it } from 'vitest';
import type { RepositoryStreaming } from '../../../../lib/core/acr.js';
import { AcrError } from '../../../../lib/core/errors.js';
import { silentLogger as log } from '../../../../lib/core/logging.js';
import {
  nextDriftRecord,
  SwitchReconciler,
  type SwitchRegistry,
  type SwitchTarget,
} from '../../../../lib/policy/drift.js';
import { ManualClock } from '../../../support/fakes/clock.js';
import { InMemoryOutbox } from '../../../support/fakes/outbox.js';
import { MemoryDriftStore } from '../../../support/fakes/drift-store.js';

/** One repository's switch; `refuse` answers writes with 403, `beforeRead` runs before each read. */
class FakeSwitch implements SwitchRegistry {
  value = false;
  refuse = false;
  writes = 0;

  getRepositoryStreaming(): Promise<RepositoryStreaming> {
    return Promise.resolve({ convertPushedImages: this.value });
  }

  setRepositoryStreaming(_repository: string, convertPushedImages: boolean): Promise<RepositoryStreaming> {
    this.writes++;
    if (this.refuse)
      return Promise.reject(
        new AcrError('ACR answered 403 DENIED', {
          status: 403,
          code: 'DENIED',
          correlationId: 'c',
          method: 'POST',
          path: '/acr/v1/team-n/app/_streaming',
        }),
      );
    this.value = convertPushedImages;
    return Promise.resolve({ convertPushedImages });
  }
}

/** A registry whose switch GET fails with `status`. */
function unreadable(status: number, code: string): SwitchRegistry {
  const error = new AcrError(`ACR answered ${status} ${code}`, {
    status,
    code,
    correlationId: 'c',
    method: 'GET',
    path: '/acr/v1/team-n/app/_streaming',
  });
  return {
    getRepositoryStreaming: () => Promise.reject(error),
    setRepositoryStreaming: () => Promise.reject(new Error('not reached')),
  };
}

function setup() {
  const acr = new FakeSwitch();
  const store = new MemoryDriftStore();
  const outbox = new InMemoryOutbox();
  const clock = new ManualClock('2026-11-28T06:00:00.000Z');
  const reconciler = new SwitchReconciler({ registry: () => acr, store, outbox, clock });
  const check = (expected: boolean, origin: SwitchTarget['origin'] = 'audit') =>
    reconciler.reconcile({ registry: 'contoso', repository: 'team-n/app', scope: 'team-n/**', expected, origin }, log);
  return { acr, store, outbox, clock, reconciler, check };
}

describe('ACR switch drift (issue #15)', () => {
  it('the audit finding a switch off under native sets it back and raises one alert; later checks raise none', async () => {
    const { acr, outbox, store, check } = setup();

    const found = await check(true);
    const again = await check(true);

    expect(acr.value).toBe(true);
    expect(found).toMatchObject({ outcome: 'repaired', drift: false, transition: 'found' });
    expect(again).toEqual({ repository: 'team-n/app', convertPushedImages: true, drift: false, outcome: 'in-line' });
    expect(outbox.drifts).toHaveLength(1);
    expect(outbox.drifts[0]).toMatchObject({
      id: 'policy.drift:team-n:app:e1:found',
      severity: 'warning',
      expected: true,
      actual: true,
      facts: { 'Found by': 'audit', State: 'repaired', 'Policy wants': 'on', 'ACR reports': 'on' },
    });
    expect((await store.driftRecord('contoso', 'team-n/app'))?.value).toMatchObject({ state: 'closed', episode: 1 });
  });

  it('a refused repair opens an episode once; repairing it later closes it with one more alert', async () => {
    const { acr, outbox, check, clock } = setup();
    acr.refuse = true;

    expect(await check(true)).toMatchObject({ outcome: 'refused', drift: true, transition: 'found' });
    expect(await check(true)).toMatchObject({ outcome: 'refused', drift: true });
    expect(outbox.drifts.map((event) => [event.id, event.severity])).toEqual([
      ['policy.drift:team-n:app:e1:found', 'error'],
    ]);

    acr.refuse = false;
    clock.advance(3_600);
    expect(await check(true)).toMatchObject({ outcome: 'repaired', transition: 'closed' });
    expect(outbox.drifts.map((event) => event.id)).toEqual([
      'policy.drift:team-n:app:e1:found',
      'policy.drift:team-n:app:e1:closed',
    ]);
    // Distinct generations: the alert dedup window never takes the closing for a repeat of the opening.
    expect(new Set(outbox.drifts.map((event) => event.generation)).size).toBe(2);

    // A new drift later is a new episode, with its own alert.
    acr.value = false;
    expect(await check(true)).toMatchObject({ transition: 'found' });
    expect(outbox.drifts.at(-1)!.id).toBe('policy.drift:team-n:app:e2:found');
  });

  it('an open episode put right outside the app closes with one alert saying so', async () => {
    const { acr, outbox, check } = setup();
    acr.refuse = true;
    await check(true);
    acr.refuse = false;
    acr.value = true; // someone ran az acr artifact-streaming update

    expect(await check(true)).toMatchObject({ outcome: 'in-line', transition: 'closed' });
    expect(outbox.drifts.at(-1)!.message).toMatch(/set outside this app/);
  });

  it('an open episode of a repository deleted from ACR closes, once', async () => {
    const { acr, outbox, store, check } = setup();
    acr.refuse = true;
    await check(true);
    const gone = new SwitchReconciler({
      registry: () => unreadable(404, 'NAME_UNKNOWN'),
      store,
      outbox,
      clock: new ManualClock('2026-11-28T07:00:00.000Z'),
    });
    const target = { registry: 'contoso', repository: 'team-n/app', scope: 'team-n/**', expected: true } as const;

    expect(await gone.reconcile({ ...target, origin: 'audit' }, log)).toBeUndefined();
    await gone.reconcile({ ...target, origin: 'audit' }, log);

    expect(outbox.drifts.map((event) => event.id)).toEqual([
      'policy.drift:team-n:app:e1:found',
      'policy.drift:team-n:app:e1:closed',
    ]);
    expect((await store.driftRecord('contoso', 'team-n/app'))?.value).toMatchObject({
      state: 'closed',
      message: 'the repository no longer exists in ACR',
    });
  });

  it('a policy change that sets the switch is not drift; a refused one is, once however often it is applied', async () => {
    const { acr, outbox, check } = setup();

    expect(await check(true, 'policy-change')).toMatchObject({ outcome: 'set', drift: false });
    expect(outbox.drifts).toEqual([]);

    acr.refuse = true;
    await check(false, 'policy-change');
    await check(false, 'policy-change');
    // The audit after it sees the same refusal: the same episode, no second alert.
    await check(false, 'audit');
    expect(outbox.drifts.map((event) => event.id)).toEqual(['policy.drift:team-n:app:e1:found']);
    expect(outbox.drifts[0]!.facts['Found by']).toBe('policy change');
  });

  it('two finders of one drift at once raise one alert and store one episode', async () => {
    const { acr, outbox, store, reconciler } = setup();
    const target = {
      registry: 'contoso',
      repository: 'team-n/app',
      scope: 'team-n/**',
      expected: true,
      origin: 'audit',
    } as const;
    // Both read the switch off before either writes (ACR's read lag makes this ordinary).
    acr.value = false;
    let rivalReads = 0;
    const rival = new SwitchReconciler({
      registry: () => ({
        getRepositoryStreaming: () => Promise.resolve({ convertPushedImages: rivalReads++ === 0 ? false : acr.value }),
        setRepositoryStreaming: (_r, value) => acr.setRepositoryStreaming(_r, value),
      }),
      store,
      outbox,
      clock: new ManualClock('2026-11-28T06:00:00.500Z'),
    });
    store.beforeSave = async () => {
      await rival.reconcile(target, log);
    };

    const mine = await reconciler.reconcile(target, log);

    expect(mine).toMatchObject({ outcome: 'repaired' });
    expect(mine?.transition).toBeUndefined();
    expect(outbox.drifts).toHaveLength(1);
    expect((await store.driftRecord('contoso', 'team-n/app'))?.value.episode).toBe(1);
  });

  it('rethrows transient failures without recording anything', async () => {
    const { outbox, store } = setup();
    const failing = new SwitchReconciler({
      registry: () => unreadable(503, 'SERVICE_UNAVAILABLE'),
      store,
      outbox,
      clock: new ManualClock('2026-11-28T06:00:00.000Z'),
    });

    await expect(
      failing.reconcile(
        { registry: 'contoso', repository: 'team-n/app', scope: 'team-n/**', expected: true, origin: 'audit' },
        log,
      ),
    ).rejects.toThrow(AcrError);
    expect(outbox.drifts).toEqual([]);
    expect(store.rows.size).toBe(0);
  });

  describe('nextDriftRecord: the transition table', () => {
    const target = {
      registry: 'contoso',
      repository: 'r',
      scope: 's',
      expected: true,
      origin: 'audit',
    } as const;
    const now = '2026-11-28T06:00:00.000Z';
    const open = nextDriftRecord(undefined, target, { before: false, after: false, refusal: 'no' }, now)!.record;

    it.each([
      ['in line, nothing recorded', undefined, { before: true, after: true }, undefined],
      ['audit repairs a drift', undefined, { before: false, after: true }, 'found'],
      ['audit cannot repair', undefined, { before: false, after: false }, 'found'],
      ['still refused', open, { before: false, after: false }, undefined],
      ['repaired at last', open, { before: false, after: true }, 'closed'],
      ['put right outside', open, { before: true, after: true }, 'closed'],
    ] as const)('%s', (_name, previous, observation, transition) => {
      expect(nextDriftRecord(previous, target, observation, now)?.transition).toBe(transition);
    });

    it('a policy change that takes is no transition; one ACR refuses opens an episode', () => {
      const change = { ...target, origin: 'policy-change' } as const;
      expect(nextDriftRecord(undefined, change, { before: false, after: true }, now)).toBeUndefined();
      expect(nextDriftRecord(undefined, change, { before: false, after: false }, now)?.record).toMatchObject({
        state: 'open',
        foundBy: 'policy-change',
      });
    });

    it('an open episode for the other value is superseded by a new one', () => {
      const other = { ...target, expected: false };
      expect(nextDriftRecord(open, other, { before: true, after: true }, now)).toMatchObject({
        transition: 'found',
        record: { episode: 2, expected: false, state: 'open' },
      });
    });
  });
});
