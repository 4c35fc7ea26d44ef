import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SANDBOX_AKS_RESOURCE_GROUP, SANDBOX_CLUSTERS, SANDBOX_SUBSCRIPTION } from '../../dev/emulator/arm/aks-seed.js';
import { hostKeys, SandboxHarness, settled, type HostProcess } from '../support/sandbox-harness.js';

interface CheckView {
  readonly id: string;
  readonly status: 'pass' | 'fail' | 'warn' | 'info' | 'skipped';
  readonly evidence: string;
  readonly fix?: string;
}

interface InboxDelivery {
  readonly kind: 'webhook' | 'teams';
  readonly body?: unknown;
}

interface PoolView {
  readonly name: string;
  readonly canStream: boolean;
  readonly reasons: readonly { readonly code: string; readonly fix: string }[];
}

interface ClusterReportView {
  readonly name: string;
  readonly state: string;
  readonly pull: string;
  readonly fix?: string;
  readonly pools: readonly PoolView[];
}

interface DiagnosisView {
  readonly summary: { readonly verdict: string };
  readonly checks: readonly CheckView[];
}

/**
 * Issue #20 on the sandbox: the seeded AKS clusters (dev/emulator/arm/aks-seed.ts: one that can stream, one whose
 * pools cannot, one without AcrPull) seen through the product's own routes, reports and alerts, with the ARM SDKs
 * reading the emulator's ARM.
 */
describe('who streams: AKS consumers and the doctor on the sandbox', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;
  let converted: string;

  const diagnose = async (image: string, cluster?: string): Promise<DiagnosisView> => {
    const query = new URLSearchParams({ image, ...(cluster ? { cluster } : {}) });
    const response = await sandbox.api(host, `/registries/sandbox/diagnosis?${query.toString()}`);
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as DiagnosisView;
  };
  const check = (diagnosis: DiagnosisView, id: string): CheckView | undefined =>
    diagnosis.checks.find((item) => item.id === id);

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      settings: {
        DEFAULT_POLICY: JSON.stringify({ mode: 'onPush', tags: { include: ['*'], exclude: ['*-dev'] } }),
        ALERT_RELAY_SCHEDULE: '*/5 * * * * *',
      },
    });
    host = await sandbox.startHost();
    // The standard seed, as `npm start` makes it: its pushes reach the host, and the three clusters appear in ARM.
    await sandbox.emulator.seed();
    converted = await sandbox.push('team-a/app', 'v1');
    await sandbox.waitForConversion(host, 'team-a/app', converted, settled);
  });
  afterAll(() => sandbox.close());

  describe('the doctor', () => {
    it('a converted amd64 image on the cluster that can stream will stream', async () => {
      const diagnosis = await diagnose('team-a/app:v1', SANDBOX_CLUSTERS.streaming.id);

      expect(diagnosis.summary.verdict, JSON.stringify(diagnosis, null, 1)).toBe('will-stream');
      for (const id of ['registry.premium', 'image.exists', 'image.platform', 'streaming.artifact', 'cluster.pull'])
        expect(check(diagnosis, id)?.status, id).toBe('pass');
      expect(check(diagnosis, 'cluster.pools')?.status).toBe('pass');
      expect(check(diagnosis, 'note.node-logs')?.status).toBe('info');
    });

    it('an arm64-only image will not stream, and says why', async () => {
      const diagnosis = await diagnose('team-a/arm-only:v1');

      expect(diagnosis.summary.verdict).toBe('will-not-stream');
      expect(check(diagnosis, 'image.platform')).toMatchObject({ status: 'fail' });
      expect(check(diagnosis, 'image.platform')?.evidence).toMatch(/arm64/);
    });

    it('a missing tag will not pull, and names the tags that exist', async () => {
      const diagnosis = await diagnose('team-a/app:v2');

      expect(diagnosis.summary.verdict).toBe('will-not-pull');
      expect(check(diagnosis, 'image.exists')).toMatchObject({ status: 'fail' });
      expect(check(diagnosis, 'image.exists')?.evidence).toMatch(/v1/);
      expect(check(diagnosis, 'image.platform')?.status).toBe('skipped');
    });

    it('an image its policy leaves unconverted will not stream, with the policy decision and a fix', async () => {
      const digest = await sandbox.push('team-c/app', 'v1-dev');
      const diagnosis = await diagnose(`team-c/app@${digest}`);

      expect(diagnosis.summary.verdict).toBe('will-not-stream');
      expect(check(diagnosis, 'streaming.artifact')).toMatchObject({ status: 'fail' });
      expect(check(diagnosis, 'streaming.artifact')?.fix).toBeDefined();
      expect(check(diagnosis, 'policy.decision')?.evidence).toMatch(/-dev/);
    });

    it('a cluster whose kubelet identity has no AcrPull will not pull, and the fix attaches the registry', async () => {
      const diagnosis = await diagnose('team-a/app:v1', SANDBOX_CLUSTERS.noPull.id);

      expect(diagnosis.summary.verdict).toBe('will-not-pull');
      expect(check(diagnosis, 'cluster.pull')).toMatchObject({ status: 'fail' });
      expect(check(diagnosis, 'cluster.pull')?.fix).toMatch(/az aks update --resource-group aks-rg --name aks-nopull/);
    });

    it('a cluster whose pools cannot stream will not stream, with each pool reason and fix', async () => {
      const diagnosis = await diagnose('team-a/app:v1', SANDBOX_CLUSTERS.mixed.id);

      expect(diagnosis.summary.verdict).toBe('will-not-stream');
      const pools = check(diagnosis, 'cluster.pools');
      expect(pools?.status).toBe('fail');
      for (const pool of Object.keys(SANDBOX_CLUSTERS.mixed.pools)) expect(pools?.evidence).toContain(pool);
      expect(pools?.fix).toMatch(/az aks nodepool update .*--name system --enable-artifact-streaming/);
      expect(pools?.fix).toMatch(/--node-vm-size Standard_D4s_v5/);
      expect(pools?.fix).toMatch(/az aks nodepool upgrade .*--name k8s125/);
    });
  });

  describe('the consumer audit and the report', () => {
    const runAudit = async (): Promise<void> => {
      const summaries = (): number => host.output().split('consumers of sandbox: ').length - 1;
      const before = summaries();
      const ran = await fetch(`${host.url}/admin/functions/auditConsumers`, {
        method: 'POST',
        headers: { 'x-functions-key': hostKeys.master, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(ran.status).toBe(202);
      // The audit ends each registry with one summary line (lib/consumers/audit.ts).
      await sandbox.eventually(() => Promise.resolve(summaries() > before ? true : undefined));
    };
    const inbox = async (): Promise<InboxDelivery[]> =>
      (await (await fetch(`${sandbox.emulator.emulator.controlUrl}/inbox`)).json()) as InboxDelivery[];
    const cannotStream = async (): Promise<InboxDelivery[]> =>
      (await inbox()).filter((delivery) => {
        const text = JSON.stringify(delivery.body ?? '');
        return text.includes('azlinux') && text.includes('aks-streaming') && /no longer stream/i.test(text);
      });

    it("the report's Consumers section names each seeded cluster's verdicts and fixes", async () => {
      const created = await sandbox.api(host, '/reports', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"registry":"sandbox"}',
      });
      expect(created.status, await created.clone().text()).toBe(202);
      const { links } = (await created.json()) as { links: Record<string, string> };
      const report = (await (await sandbox.api(host, links.json!.replace(/^\/api/, ''))).json()) as {
        registries: { consumers: { configured: boolean; clusters: ClusterReportView[]; notes: string[] } }[];
      };
      const consumers = report.registries[0]!.consumers;
      const cluster = (name: string): ClusterReportView | undefined => consumers.clusters.find((c) => c.name === name);

      expect(consumers.configured).toBe(true);
      expect(cluster('aks-streaming')).toMatchObject({ state: 'streaming', pull: 'granted' });
      expect(cluster('aks-streaming')!.pools.every((pool) => pool.canStream)).toBe(true);
      expect(cluster('aks-nopull')).toMatchObject({ state: 'no-pull', pull: 'missing' });
      expect(cluster('aks-nopull')!.fix).toMatch(/--attach-acr/);
      const mixed = cluster('aks-mixed')!;
      expect(mixed).toMatchObject({ state: 'cannot-stream', pull: 'granted' });
      expect(Object.fromEntries(mixed.pools.map((pool) => [pool.name, pool.reasons.map((r) => r.code)]))).toEqual(
        Object.fromEntries(Object.entries(SANDBOX_CLUSTERS.mixed.pools).map(([pool, code]) => [pool, [code]])),
      );
      expect(mixed.pools.every((pool) => pool.reasons.every((reason) => reason.fix.startsWith('az ')))).toBe(true);
      expect(consumers.notes.join(' ')).toMatch(/repositories/);

      const html = await (await sandbox.api(host, links.html!.replace(/^\/api/, ''))).text();
      expect(html).toMatch(/Consumers/);
      expect(html).toContain('aks-mixed');
      expect(html).toContain('--enable-artifact-streaming');
    });

    it('alerts once per channel when a capable pool is changed to one that cannot stream', async () => {
      await runAudit();
      expect(await cannotStream()).toEqual([]);
      const aksStreaming = {
        subscriptionId: SANDBOX_SUBSCRIPTION,
        resourceGroup: SANDBOX_AKS_RESOURCE_GROUP,
        name: SANDBOX_CLUSTERS.streaming.name,
      };
      await sandbox.emulator.control.patchAgentPool(aksStreaming, 'azlinux', {
        artifactStreamingEnabled: false,
      });

      await runAudit();
      await sandbox.eventually(async () => ((await cannotStream()).length >= 2 ? true : undefined));
      await runAudit();
      // The relay runs every 5 s: a second alert for the same transition would show up within this wait.
      await new Promise((resolve) => setTimeout(resolve, 6_000));

      const deliveries = await cannotStream();
      expect(deliveries.map((delivery) => delivery.kind).sort()).toEqual(['teams', 'webhook']);
      expect(JSON.stringify(deliveries)).toContain(
        'az aks nodepool update --resource-group aks-rg --cluster-name aks-streaming --name azlinux',
      );
    });
  });
});
