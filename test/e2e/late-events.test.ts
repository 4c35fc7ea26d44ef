import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SandboxHarness, settled, type HostProcess } from '../support/sandbox-harness.js';

/**
 * Issue #17 §5 on the sandbox: Event Grid delivers out of order and again for up to a day
 * (learn.microsoft.com/azure/event-grid/delivery-and-retry), so a push can arrive after the delete that undid it.
 * It must not bring the row back (nor, its manifest being gone minutes after the push, be taken for replication lag
 * and answered 500 for Event Grid to retry); the digest's next push still converts.
 */
describe('late Event Grid deliveries on the sandbox', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      settings: { DEFAULT_POLICY: JSON.stringify({ mode: 'onPush' }) },
    });
    host = await sandbox.startHost();
  });
  afterAll(() => sandbox.close());

  it('a push delivered again after its delete leaves the row Deleted (202), and a later push converts', async () => {
    const label = 'team-s/late:fixed-content';
    const digest = await sandbox.push('team-s/late', 'v1', 'linux/amd64', label);
    await sandbox.waitForConversion(host, 'team-s/late', digest, settled);
    const push = sandbox.publishedPush(digest);
    await sandbox.emulator.control.deleteManifest('sandbox', 'team-s/late', digest);
    await sandbox.emulator.eventGrid.whenIdle();
    await sandbox.waitForConversion(host, 'team-s/late', digest, (view) => view.status === 'Deleted');

    const status = await sandbox.deliver(host, [push]);

    expect(status).toBe(202);
    expect(host.output()).toMatch(/stale push event ignored/);
    expect(await sandbox.conversion(host, 'team-s/late', digest)).toMatchObject({ status: 'Deleted' });
    expect(await sandbox.push('team-s/late', 'v2', 'linux/amd64', label)).toBe(digest);
    const again = await sandbox.waitForConversion(host, 'team-s/late', digest, (view) => view.status === 'Succeeded');
    expect(again.tags).toContain('v2');
  });
});
