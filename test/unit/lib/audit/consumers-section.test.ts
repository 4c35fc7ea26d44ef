import { describe, expect, it } from 'vitest';
import { AuditReportSource } from '../../../../lib/audit/report-source.js';
import { liveConsumersSection } from '../../../../lib/audit/consumers-section.js';
import type { AuditStore } from '../../../../lib/audit/ports.js';
import { silentLogger } from '../../../../lib/core/logging.js';
import { policySchema } from '../../../../lib/policy/model.js';
import { registryReportSchema, type ConsumersSection } from '../../../../lib/reports/model.js';
import {
  InMemoryConsumerSource,
  acrPull,
  capablePool,
  clusterView,
  registrySettings,
  registryView,
} from '../../../support/fakes/consumers.js';

function reportSource(consumers?: InMemoryConsumerSource, scopes: string[] = []): AuditReportSource {
  const store = {
    recentRuns: () => Promise.resolve([]),
    allFindings: async function* () {},
  } as unknown as AuditStore;
  return new AuditReportSource({
    registries: [registrySettings],
    store,
    policies: {
      policyFor: () => Promise.resolve({ scope: '_default', policy: policySchema.parse({ mode: 'onPush' }) }),
    },
    readiness: () => Promise.resolve({ ready: true, sku: 'Premium', customerManagedKey: false }),
    connectedRegistries: () => Promise.resolve([]),
    ...(consumers
      ? { consumers: liveConsumersSection(consumers, scopes, () => new Date('2026-11-29T08:00:00Z')) }
      : {}),
    log: silentLogger,
  });
}

/** The report's Consumers section is surveyed when the report is made (as the connected registries are). */
describe('the report source and the Consumers section', () => {
  it('surveys the scope at report time: each cluster with its verdict, the capacity and the notes', async () => {
    const arm = new InMemoryConsumerSource(registryView);
    arm.scopes.set('/subscriptions/s1', [
      clusterView('aks1', [capablePool, { ...capablePool, name: 'off', artifactStreamingEnabled: false, count: 1 }]),
    ]);
    arm.grantsByPrincipal.set('aks1-kubelet', [acrPull('aks1-kubelet')]);
    const report = registryReportSchema.parse(await reportSource(arm, ['/subscriptions/s1']).registryReport('contoso'));
    const consumers = report.consumers as ConsumersSection;
    expect(consumers.configured).toBe(true);
    expect(consumers.scope).toEqual(['/subscriptions/s1']);
    expect(consumers.clusters.map((cluster) => [cluster.name, cluster.state])).toEqual([['aks1', 'partial']]);
    expect(consumers.capacity).toEqual({ nodes: 4, streamingNodes: 3, percent: 75 });
    expect(consumers.notes.join(' ')).toContain("Not known: which repositories each cluster's workloads actually pull");
    expect(consumers.notes).toContain(
      '1 of 1 cluster(s) in scope can pull from contoso; 3 of 4 node(s) of those clusters (75%) are in pools that can stream.',
    );
  });

  it('says consumers are not configured when no scope is, without calling ARM', async () => {
    const arm = new InMemoryConsumerSource(registryView);
    const report = await reportSource(arm, []).registryReport('contoso');
    expect(report.consumers?.configured).toBe(false);
    expect(report.consumers?.notes[0]).toContain('set CONSUMER_SCOPES');
    expect(arm.calls.registry).toBe(0);
    expect((await reportSource().registryReport('contoso')).consumers?.configured).toBe(false);
  });
});
