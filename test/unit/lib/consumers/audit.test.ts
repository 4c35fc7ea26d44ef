import { describe, expect, it } from 'vitest';
import { ConsumerAudit } from '../../../../lib/consumers/audit.js';
import type { Logger } from '../../../../lib/core/logging.js';
import type { NoticeEvent } from '../../../../lib/core/outbox.js';
import { ManualClock } from '../../../support/fakes/clock.js';
import {
  InMemoryConsumerSource,
  InMemoryConsumerStore,
  acrPull,
  armError,
  capablePool,
  clusterView,
  registrySettings,
  registryView,
} from '../../../support/fakes/consumers.js';
import { InMemoryOutbox } from '../../../support/fakes/outbox.js';

const scope = '/subscriptions/s1';

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (...args: unknown[]): void => void lines.push(String(args[0]));
  return { lines, trace: record, debug: record, info: record, warn: record, error: record };
}

function setup(scopes: readonly string[] = [scope]) {
  const arm = new InMemoryConsumerSource(registryView);
  arm.scopes.set(scope, [
    clusterView('aks1', [capablePool, { ...capablePool, name: 'spare', count: 2 }]),
    clusterView('lonely', [capablePool]),
  ]);
  arm.grantsByPrincipal.set('aks1-kubelet', [acrPull('aks1-kubelet')]);
  const store = new InMemoryConsumerStore();
  const outbox = new InMemoryOutbox();
  const clock = new ManualClock('2026-11-29T08:00:00.000Z');
  const audit = new ConsumerAudit({ registries: [registrySettings], source: arm, scopes, store, outbox, clock });
  const log = recordingLog();
  const run = async (): Promise<void> => {
    await audit.run(log);
    clock.advance(30 * 60);
  };
  const raised = (): string[] => outbox.notices.map((event) => `${event.type}:${event.facts?.Cluster}${poolOf(event)}`);
  return { arm, store, outbox, clock, audit, log, run, raised };
}

function poolOf(event: NoticeEvent): string {
  return event.facts?.['Node pool'] ? `/${event.facts['Node pool']}` : '';
}

describe('ConsumerAudit', () => {
  it('alerts nothing on first sighting nor while states hold', async () => {
    const { run, raised, store } = setup();
    await run();
    await run();
    expect(raised()).toEqual([]);
    expect(store.size).toBe(2);
  });

  it('ends each registry with one line saying what it found', async () => {
    const { run, log } = setup();
    await run();
    expect(log.lines).toEqual([
      'consumers of contoso: 2 clusters (1 streaming, 0 partly, 0 cannot stream, 1 without pull); 5 of 5 nodes can stream',
    ]);
  });

  it('alerts once when a pool of a pulling cluster can no longer stream, and once when it can again', async () => {
    const { arm, run, raised, outbox } = setup();
    await run();
    arm.updatePool('aks1', 'spare', { artifactStreamingEnabled: false });
    await run();
    await run(); // still disabled: no second alert
    const [alert] = outbox.notices;
    expect(alert?.type).toBe('consumer.cannotStream');
    expect(alert?.message).toBe(
      'Node pool spare of cluster aks1 can no longer stream from contoso: artifact streaming is not enabled on this node pool',
    );
    expect(alert?.remediation).toBe(
      'az aks nodepool update --resource-group aks-rg --cluster-name aks1 --name spare --enable-artifact-streaming',
    );
    expect(alert?.facts).toMatchObject({ Cluster: 'aks1', 'Node pool': 'spare', Nodes: '2' });
    arm.updatePool('aks1', 'spare', { artifactStreamingEnabled: true });
    await run();
    await run();
    expect(raised()).toEqual(['consumer.cannotStream:aks1/spare', 'consumer.recovered:aks1/spare']);
  });

  it('does not alert for a cluster that does not pull from the registry', async () => {
    const { arm, run, raised } = setup();
    await run();
    arm.updatePool('lonely', 'nodes', { vmSize: 'Standard_D4ps_v5' });
    await run();
    expect(raised()).toEqual([]);
  });

  it('alerts when pull is lost, not while ARM does not answer, and closes the alert when pull is back', async () => {
    const { arm, run, raised, outbox } = setup();
    await run();
    arm.failures.grants = armError(503, 'ServiceUnavailable');
    await run(); // unknown: not a transition
    expect(raised()).toEqual([]);
    arm.failures.grants = undefined;
    arm.grantsByPrincipal.delete('aks1-kubelet');
    await run();
    expect(outbox.notices[0]?.remediation).toBe(
      `az aks update --resource-group aks-rg --name aks1 --attach-acr ${registryView.id}`,
    );
    arm.failures.grants = armError(503, 'ServiceUnavailable');
    await run(); // unknown again: the alert stays open, nothing new
    arm.failures.grants = undefined;
    arm.grantsByPrincipal.set('aks1-kubelet', [acrPull('aks1-kubelet')]);
    await run();
    expect(raised()).toEqual(['consumer.pullLost:aks1', 'consumer.recovered:aks1']);
  });

  it('does not announce a newly attached cluster as recovered', async () => {
    const { arm, run, raised } = setup();
    await run();
    arm.grantsByPrincipal.set('lonely-kubelet', [acrPull('lonely-kubelet')]);
    await run();
    expect(raised()).toEqual([]);
  });

  it('deletes the state of a cluster gone from scope, but not after a listing that failed', async () => {
    const { arm, run, store } = setup();
    await run();
    arm.failures.scopes.set(scope, armError(403, 'AuthorizationFailed'));
    await run();
    expect(store.size).toBe(2);
    arm.failures.scopes.clear();
    arm.scopes.set(scope, arm.scopes.get(scope)!.slice(0, 1));
    await run();
    expect(store.size).toBe(1);
  });

  it('when another instance records the same transition first, decides again and raises one event', async () => {
    const { arm, run, store, outbox } = setup();
    await run();
    arm.updatePool('aks1', 'spare', { artifactStreamingEnabled: false });
    // The other instance saw the same change and saved it (after appending the same event) just before this one.
    store.beforeSave = (state) => expect(store.write(state, store.etagOf(state.registry, state.clusterId))).toBe(true);
    await run();
    expect(outbox.notices.map((event) => event.type)).toEqual(['consumer.cannotStream']);
    expect((await store.states('contoso')).size).toBe(2);
  });

  it('does nothing without a scope and says so once', async () => {
    const { audit, log, arm } = setup([]);
    expect(await audit.run(log)).toEqual(new Map());
    await audit.run(log);
    expect(log.lines.filter((line) => line.includes('not configured'))).toHaveLength(1);
    expect(arm.calls.registry).toBe(0);
  });
});
