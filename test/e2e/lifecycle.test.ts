import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SandboxHarness, settled, type HostProcess } from '../support/sandbox-harness.js';

interface AuditRunView {
  runId: string;
  complete: boolean;
  counters: { eligible: number; streamable: number; missing: number; failed: number };
}

/**
 * The conversion lifecycle re-decides when what a decision was made from changes (issue #14, scenario 1), through
 * the product's own API and functions: images pushed while the shipped default policy is `off` are recorded as
 * skipped; an owner then turns the policy on with backfill, and those very images become streamable.
 */
describe('conversion lifecycle on the sandbox', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      // The shipped default (local.settings.sample.json and the Bicep): nothing converts until an owner says so.
      settings: { DEFAULT_POLICY: JSON.stringify({ mode: 'off' }), BACKFILL_RUN_INTERVAL_SECONDS: '1' },
    });
    host = await sandbox.startHost();
  });
  afterAll(() => sandbox.close());

  it('scenario 1: images pushed while the policy was off convert once an owner turns it on with backfill', async () => {
    const digests = [await sandbox.push('team-l/app', 'v1'), await sandbox.push('team-l/app', 'v2')];
    for (const digest of digests)
      expect(await sandbox.waitForConversion(host, 'team-l/app', digest, settled)).toMatchObject({
        status: 'Skipped',
        skipReason: 'policy-off',
      });

    const put = await sandbox.api(host, '/registries/sandbox/policies/team-l/**', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'onPush', backfill: { enabled: true } }),
    });
    expect(put.status).toBe(201);

    for (const digest of digests)
      expect(
        await sandbox.waitForConversion(host, 'team-l/app', digest, (view) => view.status === 'Succeeded'),
      ).toMatchObject({ status: 'Succeeded', source: 'backfill', policyScope: 'team-l/**' });
    const started = await sandbox.api(host, '/audits', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"registry":"sandbox"}',
    });
    const { runs } = (await started.json()) as { runs: Array<{ runId: string }> };
    const run = await sandbox.eventually(async () => {
      const { items } = (await (await sandbox.api(host, '/audits?registry=sandbox')).json()) as {
        items: AuditRunView[];
      };
      return items.find((item) => item.runId === runs[0]!.runId && item.complete);
    });
    expect(run.counters).toMatchObject({ missing: 0, failed: 0 });
    expect(run.counters.streamable).toBeGreaterThanOrEqual(2);
  });
});
