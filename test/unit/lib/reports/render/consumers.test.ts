import { describe, expect, it } from 'vitest';
import { complianceReportSchema } from '../../../../../lib/reports/model.js';
import { csvColumns } from '../../../../../lib/reports/render/csv.js';
import { diagnosisLink, toHtml } from '../../../../../lib/reports/render/html.js';
import { esc } from '../../../../../lib/reports/render/html-escape.js';
import { toJson } from '../../../../../lib/reports/render/json.js';
import { toMarkdown } from '../../../../../lib/reports/render/markdown.js';
import { capacityBars, clustersForCapacityChart } from '../../../../../lib/reports/render/svg.js';
import { consumers, hostileCluster, hostileRepository, report } from '../fixture.js';

/** Issue #20 §1: the Consumers section, in every format the report has. */
describe('Consumers section', () => {
  const fixes = {
    arm64:
      'az aks nodepool add --resource-group aks-rg --cluster-name aks-mixed --name armpoolas --node-vm-size ' +
      'Standard_D4s_v5 --enable-artifact-streaming (then move the workloads off armpool: kubectl cordon and drain ' +
      'its nodes)',
    disabled: `az aks nodepool update --resource-group aks-rg --cluster-name ${hostileCluster} --name legacy --enable-artifact-streaming`,
    attach:
      'az aks update --resource-group aks-rg --name aks-other --attach-acr ' +
      '/subscriptions/s1/resourceGroups/acr-rg/providers/Microsoft.ContainerRegistry/registries/contoso',
  };

  it('holds every cluster, pullers first, with the capacity of those that pull', () => {
    expect(consumers.clusters.map((cluster) => `${cluster.name}:${cluster.state}`)).toEqual([
      `${hostileCluster}:cannot-stream`,
      'aks-mixed:partial',
      'aks-prod:streaming',
      'aks-other:no-pull',
    ]);
    // 6 + 4 capable; 2 (ARM64) + 1 (disabled) not; aks-other does not pull, so its node is not counted.
    expect(consumers.capacity).toEqual({ nodes: 13, streamingNodes: 10, percent: 76.9 });
  });

  it('JSON carries the section as is, and a report stored before it still parses', () => {
    const parsed = complianceReportSchema.parse(JSON.parse(toJson(report)));
    expect(parsed.registries[0]?.consumers).toEqual(consumers);
    expect(parsed.registries[1]?.consumers?.configured).toBe(false);
    const old = JSON.parse(toJson(report)) as { registries: Array<Record<string, unknown>> };
    for (const registry of old.registries) delete registry.consumers;
    const before = complianceReportSchema.parse(old);
    expect(before.registries.map((registry) => registry.consumers)).toEqual([undefined, undefined, undefined]);
  });

  it('HTML: a table per cluster and pool with verdict, reason and fix in <code>, and what could not be read', () => {
    const html = toHtml(report);
    expect(html).toContain('Consumers (AKS clusters)');
    for (const cluster of consumers.clusters) expect(html).toContain(`${esc(cluster.name)}<br>`);
    expect(html).toContain(`<code>${esc(fixes.arm64)}</code>`);
    expect(html).toContain(`<code>${esc(fixes.disabled)}</code>`);
    expect(html).toContain(`<code>${esc(fixes.attach)}</code>`);
    expect(html).toContain('VM size Standard_D4ps_v5 is ARM64');
    expect(html.match(/chip-good">can stream/g)).toHaveLength(2);
    expect(html.match(/chip-bad">cannot stream/g)).toHaveLength(2);
    expect(html).toContain('could not read clusters in /subscriptions/s2: grant this app Reader on /subscriptions/s2');
    expect(html).toContain('which repositories each cluster&#39;s workloads actually pull');
    expect(html).not.toContain('aks-<img>');
    // The registry whose consumers are not configured says so; the one from before the section shows nothing.
    expect(html).toContain('Consumers are not configured: set CONSUMER_SCOPES');
    expect(html.match(/Consumers \(AKS clusters\)/g)).toHaveLength(2);
  });

  it('HTML: the capacity chart draws each pulling cluster, capable nodes against the others', () => {
    expect(clustersForCapacityChart(consumers.clusters)).toEqual([
      { name: 'aks-mixed', nodes: 6, streamingNodes: 4 },
      { name: 'aks-prod', nodes: 6, streamingNodes: 6 },
      { name: hostileCluster, nodes: 1, streamingNodes: 0 },
    ]);
    const svg = capacityBars('c', 'contosoprod', consumers.clusters);
    expect(svg).toContain('role="img" aria-labelledby="c-t c-d"');
    expect(svg).toContain('<title id="c-t">Streaming-capable nodes per cluster pulling from contosoprod</title>');
    expect(svg).toContain(
      `aks-mixed: 4 of 6 nodes in pools that can stream, 2 in pools that cannot; aks-prod: 6 of 6 nodes`,
    );
    expect(svg).not.toContain('aks-other');
    // Scaled to the largest cluster (6 nodes over 230 px): 4 capable nodes are 153.33 px, 2 others 76.67 px.
    expect(svg).toContain('width="153.33" height="14" fill="#1a7f37"');
    expect(svg).toContain('width="76.67" height="14" fill="#cf222e"');
    expect(toHtml(report)).toContain('aria-labelledby="capacity-0-t capacity-0-d"');
  });

  it('Markdown: a row per cluster and pool with the verdict and the fix', () => {
    const md = toMarkdown(report);
    expect(md).toContain('## Consumers (AKS clusters)');
    expect(md).toContain('**10 of 13 nodes (76.9%)** of the clusters that pull from contosoprod');
    expect(md).toContain(`| aks-prod (aks-rg, eastus) | pulls | nodes | 6 | can stream | — | — |`);
    expect(md).toContain(
      `| aks-mixed (aks-rg, eastus) | pulls | armpool | 2 | **cannot stream** | VM size Standard\\_D4ps\\_v5 is ARM64: artifact streaming supports AMD64 nodes only | \`${fixes.arm64}\` |`,
    );
    expect(md).toContain('| aks-other (aks-rg, eastus) | **no pull** |');
    expect(md).toContain(`\`${fixes.attach}\``);
    expect(md).toContain('- Could not read: could not read clusters in /subscriptions/s2');
    expect(md).toContain('Consumers are not configured');
  });

  it('CSV stays one row per image finding: consumers are in JSON, HTML and Markdown', () => {
    expect(csvColumns).not.toContain('cluster');
  });
});

/** Issue #20 §2: each image that does not stream links to its diagnosis. */
describe('diagnosis links', () => {
  const image = `${hostileRepository}@sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9`;

  it('link each image that does not stream to GET /api/registries/{registry}/diagnosis, root-relative by default', () => {
    const html = toHtml(report);
    expect(html).toContain(
      `<a href="${esc(`/api/registries/contosostaging/diagnosis?image=${encodeURIComponent(image)}`)}">Why not?</a>`,
    );
    expect(html.match(/>Why not\?<\/a>/g)).toHaveLength(2);
  });

  it('under APP_BASE_URL, the links are absolute', () => {
    const html = toHtml(report, { appBaseUrl: 'https://app.example.net' });
    expect(html).toContain(
      `href="https://app.example.net/api/registries/contosostaging/diagnosis?image=${encodeURIComponent(image)}"`,
    );
    expect(diagnosisLink(undefined, 'r', 'a/b', 'sha256:1')).toBe(
      '/api/registries/r/diagnosis?image=a%2Fb%40sha256%3A1',
    );
  });
});
