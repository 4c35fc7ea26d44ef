import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SANDBOX_CLUSTERS } from '../../dev/emulator/arm/aks-seed.js';
import { SandboxHarness, settled, type HostProcess } from '../support/sandbox-harness.js';

interface CheckView {
  readonly id: string;
  readonly status: 'pass' | 'fail' | 'warn' | 'info' | 'skipped';
  readonly evidence: string;
  readonly fix?: string;
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
      settings: { DEFAULT_POLICY: JSON.stringify({ mode: 'onPush', tags: { include: ['*'], exclude: ['*-dev'] } }) },
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
});
