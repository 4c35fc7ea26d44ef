import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { streamingArtifactType } from '../../lib/registry/wire.js';
import { SandboxHarness, settled, type HostProcess } from '../support/sandbox-harness.js';

/** Push to streamable, end to end: skopeo → emulated ACR → Event Grid → local host → ACR streaming API. */
describe('push to streaming', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      settings: { DEFAULT_POLICY: JSON.stringify({ mode: 'onPush', tags: { include: ['*'], exclude: ['*-dev'] }, retry: { maxAttempts: 2, initialDelaySeconds: 1, maxDelaySeconds: 2 } }) },
    });
    host = await sandbox.startHost();
  });
  afterAll(() => sandbox.close());

  it('converts an amd64 image pushed by tag, and its referrer push starts nothing', async () => {
    const digest = await sandbox.push('team-a/app', 'v1');

    const view = await sandbox.waitForConversion(host, 'team-a/app', digest, settled);

    expect(view).toMatchObject({ status: 'Succeeded', attempts: 1, tags: ['v1'], kind: 'image', platforms: 'linux/amd64', source: 'event' });
    expect(view.operationId).toMatch(/^[0-9a-f-]{36}$/);
    const acr = sandbox.emulator.emulator.state.registries.get('sandbox')!;
    const referrers = acr.store.referrers('team-a/app', digest).filter((descriptor) => descriptor.artifactType === streamingArtifactType);
    expect(referrers).toHaveLength(1);
    await sandbox.emulator.eventGrid.whenIdle();
    const referrerView = await sandbox.waitForConversion(host, 'team-a/app', referrers[0]!.digest, settled);
    expect(referrerView).toMatchObject({ status: 'Skipped', skipReason: 'referrer' });
    expect(await sandbox.conversionPosts('team-a/app', digest)).toBe(1);
    expect(await sandbox.conversionPosts('team-a/app', referrers[0]!.digest)).toBe(0);
  });
});
