import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SandboxHarness, type HostProcess } from '../support/sandbox-harness.js';

interface AuditRunView {
  runId: string;
  complete: boolean;
  counters: { eligible: number; streamable: number; missing: number; backfilled: number; ineligible: number };
}

/**
 * The audit through the product's own API and functions: images that existed before any policy (ACR never
 * converts them) are found missing, and with backfill enabled the audit converts them until they are streamable.
 */
describe('audit with backfill on the sandbox', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;
  const digests: string[] = [];

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      settings: {
        DEFAULT_POLICY: JSON.stringify({ mode: 'onPush', backfill: { enabled: true, maxImagesPerRun: 100 } }),
      },
    });
    for (const tag of ['v1', 'v2', 'v3'])
      digests.push(
        (
          await sandbox.emulator.control.seedImage('sandbox', {
            kind: 'image',
            repository: 'legacy/web',
            tag,
            platform: 'linux/amd64',
            label: `legacy-${tag}`,
          })
        ).digest,
      );
    await sandbox.emulator.control.seedImage('sandbox', {
      kind: 'image',
      repository: 'legacy/web',
      tag: 'arm',
      platform: 'linux/arm64',
    });
    host = await sandbox.startHost({ subscribe: false });
  });
  afterAll(() => sandbox.close());

  it('finds the images ACR never converted and, with backfill on, makes them streamable', async () => {
    const started = await sandbox.api(host, '/audits', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"registry":"sandbox"}',
    });
    expect(started.status).toBe(202);
    const { runs } = (await started.json()) as { runs: Array<{ runId: string }> };

    const run = await sandbox.eventually(async () => {
      const { items } = (await (await sandbox.api(host, '/audits?registry=sandbox')).json()) as {
        items: AuditRunView[];
      };
      return items.find((item) => item.runId === runs[0]!.runId && item.complete);
    });
    expect(run.counters).toMatchObject({ eligible: 3, backfilled: 3, ineligible: 1 });
    for (const digest of digests) {
      const view = await sandbox.waitForConversion(
        host,
        'legacy/web',
        digest,
        (conversion) => conversion.status === 'Succeeded',
      );
      expect(view.source).toBe('backfill');
    }

    const again = (await (
      await sandbox.api(host, '/audits', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"registry":"sandbox"}',
      })
    ).json()) as { runs: Array<{ runId: string }> };
    const second = await sandbox.eventually(async () => {
      const { items } = (await (await sandbox.api(host, '/audits?registry=sandbox')).json()) as {
        items: AuditRunView[];
      };
      return items.find((item) => item.runId === again.runs[0]!.runId && item.complete);
    });
    expect(second.counters).toMatchObject({ eligible: 3, streamable: 3, missing: 0, backfilled: 0 });
  });
});
