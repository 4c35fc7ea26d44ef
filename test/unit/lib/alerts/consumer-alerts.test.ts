import { describe, expect, it } from 'vitest';
import { toAlertEvent, type AlertEvent } from '../../../../lib/alerts/events.js';
import { teamsMessage, webhookBody, type LinkContext } from '../../../../lib/alerts/render.js';
import { routeAlert } from '../../../../lib/alerts/routing.js';
import type { ChannelSettings } from '../../../../lib/alerts/settings.js';
import { decide } from '../../../../lib/consumers/audit.js';
import { classifyCluster } from '../../../../lib/consumers/classify.js';
import { acrPull, capablePool, clusterView, registryId, registryView } from '../../../support/fakes/consumers.js';

/** Issue #20 §1: the consumer audit's events travel the outbox → routing → webhook / Teams path like any other. */
const context: LinkContext = { appBaseUrl: 'https://autopilot.example.test', registryResourceId: registryId };
const ops: ChannelSettings = {
  name: 'ops',
  kind: 'teams',
  urlSetting: 'U',
  minSeverity: 'error',
  ratePerMinute: 30,
};

/** The events the audit raises for one transition, read back from their outbox payload as the dispatcher does. */
function eventsFor(change: Partial<typeof capablePool>, pull = true, beforeOpen: string[] = []): AlertEvent[] {
  const cluster = clusterView('aks1', [{ ...capablePool, ...change }]);
  const verdict = classifyCluster({
    cluster,
    registry: registryView,
    registryName: 'contoso',
    grants: pull ? [acrPull('aks1-kubelet')] : [],
    now: new Date('2026-11-29T08:30:00Z'),
  });
  const decided = decide(
    'contoso',
    verdict,
    {
      registry: 'contoso',
      clusterId: cluster.id,
      clusterName: 'aks1',
      pull: 'granted',
      pools: { nodes: beforeOpen.length === 0 },
      open: beforeOpen,
      since: '2026-11-29T08:00:00.000Z',
    },
    new Date('2026-11-29T08:30:00Z'),
  );
  return (decided?.events ?? []).map((payload) => {
    const read = toAlertEvent(JSON.parse(JSON.stringify(payload)));
    if (!('event' in read)) throw new Error(read.reason);
    return read.event;
  });
}

describe('consumer alerts', () => {
  it('consumer.cannotStream is a warning whose card names the cluster and pool, with the fix and the cluster link', () => {
    const [event] = eventsFor({ artifactStreamingEnabled: false });
    expect(event).toMatchObject({ type: 'consumer.cannotStream', severity: 'warning' });
    const card = JSON.stringify(teamsMessage(event!, context));
    expect(card).toContain('Node pool can no longer stream: aks1/nodes ← contoso');
    expect(card).toContain('az aks nodepool update --resource-group aks-rg --cluster-name aks1 --name nodes');
    expect(webhookBody('d', event!, context).links).toContainEqual({
      title: 'Open the cluster in the Azure portal',
      url: `https://portal.azure.com/#@/resource${clusterView('aks1', []).id}`,
    });
    // The event id is a valid Table row key (the outbox's): no '/', '\', '#', '?'.
    expect(event!.id).not.toMatch(/[/\\#?]/);
  });

  it('consumer.pullLost is an error and reaches an error-only channel; recoveries pass any minimum severity', () => {
    const [lost] = eventsFor({}, false);
    expect(lost).toMatchObject({ type: 'consumer.pullLost', severity: 'error' });
    expect(lost?.remediation).toBe(`az aks update --resource-group aks-rg --name aks1 --attach-acr ${registryId}`);
    expect(routeAlert(lost!, [ops], undefined)).toHaveLength(1);

    const [recovered] = eventsFor({}, true, ['pool:nodes']);
    expect(recovered).toMatchObject({ type: 'consumer.recovered', severity: 'info' });
    expect(routeAlert(recovered!, [ops], undefined)).toHaveLength(1);
  });
});
