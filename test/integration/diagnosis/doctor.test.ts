import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedRegistry } from '../../../dev/emulator/server.js';
import type { RegistrySettings } from '../../../lib/core/registries.js';
import { silentLogger as log } from '../../../lib/core/logging.js';
import type { CheckId, Diagnosis } from '../../../lib/diagnosis/model.js';
import { diagnose, type DiagnosisPorts } from '../../../lib/diagnosis/service.js';
import { configPolicySource } from '../../../lib/policy/config-source.js';
import { policySchema } from '../../../lib/policy/model.js';
import { InMemoryConversionStore } from '../../support/fakes/conversion-store.js';
import { emulatorRegistryClient } from '../../support/trust.js';
import { startTestEmulator, type TestEmulator } from '../emulator/helpers.js';

const resourceId = '/subscriptions/0/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/doctor';

/**
 * The doctor's image checks with the product's RegistryClient against the emulated registry (issue #20 §2): what ACR
 * answers for a converted image, an arm64-only one, a missing tag (with the tags that exist) and an unconverted image.
 */
describe('the doctor against the emulated registry', () => {
  let t: TestEmulator;
  let registry: StartedRegistry;
  let settings: RegistrySettings;
  let ports: DiagnosisPorts;

  beforeAll(async () => {
    t = await startTestEmulator({ registries: [{ name: 'doctor' }] });
    registry = t.emulator.registry('doctor');
    settings = { name: 'doctor', loginServer: registry.loginServer, resourceId, auth: { type: 'identity' } };
    const client = emulatorRegistryClient(registry);
    ports = {
      registry: client,
      readiness: () => Promise.resolve({ ready: true, sku: 'Premium', customerManagedKey: false }),
      conversions: new InMemoryConversionStore(),
      policies: configPolicySource(policySchema.parse({ mode: 'onPush' })),
      now: () => new Date(),
    };
  });

  afterAll(async () => {
    await t?.emulator.close();
  });

  const status = (diagnosis: Diagnosis, id: CheckId) => diagnosis.checks.find((entry) => entry.id === id)?.status;
  const run = (repository: string, tag: string) =>
    diagnose({ registry: settings, image: { repository, tag } }, ports, log);

  it('a converted image (its streaming referrer seeded): will-stream', async () => {
    const { digest } = await t.control.seedImage('doctor', { kind: 'image', repository: 'team-a/app', tag: 'v1' });
    await t.control.seedImage('doctor', { kind: 'streaming-referrer', repository: 'team-a/app', subject: digest });

    const diagnosis = await run('team-a/app', 'v1');

    expect(diagnosis.summary).toMatchObject({ verdict: 'will-stream', image: { digest } });
    expect(status(diagnosis, 'streaming.artifact')).toBe('pass');
  });

  it('an arm64-only image: image.platform fails, will-not-stream', async () => {
    await t.control.seedImage('doctor', {
      kind: 'image',
      repository: 'team-a/arm',
      tag: 'v1',
      platform: 'linux/arm64',
    });

    const diagnosis = await run('team-a/arm', 'v1');

    expect(status(diagnosis, 'image.platform')).toBe('fail');
    expect(diagnosis.summary.verdict).toBe('will-not-stream');
  });

  it('a missing tag: the tags that exist, nearest first; an unknown repository: the nearest names', async () => {
    await t.control.seedImage('doctor', { kind: 'image', repository: 'team-b/web', tag: 'v1.2.0' });
    await t.control.seedImage('doctor', { kind: 'image', repository: 'team-b/web', tag: 'v1.3.0', label: 'newer' });

    const tag = await run('team-b/web', 'v1.3');
    const repository = await run('team-b/wbe', 'v1');

    expect(tag.summary.verdict).toBe('will-not-pull');
    expect(tag.checks.find((entry) => entry.id === 'image.exists')?.evidence).toMatch(
      /MANIFEST_UNKNOWN.*nearest first: v1\.3\.0, v1\.2\.0/,
    );
    expect(repository.checks.find((entry) => entry.id === 'image.exists')?.evidence).toMatch(
      /NAME_UNKNOWN.*nearest repositories: team-b\/web/,
    );
  });

  it('an unconverted image: streaming.artifact fails with the fix, will-not-stream', async () => {
    await t.control.seedImage('doctor', { kind: 'image', repository: 'team-c/plain', tag: 'v1' });

    const diagnosis = await run('team-c/plain', 'v1');

    expect(diagnosis.checks.find((entry) => entry.id === 'streaming.artifact')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('acr-streaming conversions start team-c/plain:v1') as string,
    });
    expect(diagnosis.summary.verdict).toBe('will-not-stream');
  });
});
