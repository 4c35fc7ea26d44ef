import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, buildIndex } from '../../../dev/emulator/registry/content.js';
import { startSandboxEmulator, type SandboxEmulator } from '../../../dev/emulator/sandbox.js';
import type { StartedRegistry } from '../../../dev/emulator/server.js';
import { RegistryClient } from '../../../lib/registry/client.js';
import { streamingArtifactType } from '../../../lib/core/acr.js';
import { trustingHttpClient } from '../../support/trust.js';
import { startReceiver, validating, type Receiver } from '../emulator-cloud/receiver.js';
import { skopeo, writeOciLayout } from '../emulator/helpers.js';

interface DeliveredEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  dataVersion: string;
  metadataVersion: string;
  data: {
    action: string;
    target: { mediaType: string; digest: string; repository: string; tag?: string; size?: number };
    request?: { host: string; method: string };
  };
}

/**
 * The whole emulated cloud as `npm start` composes it: images pushed by skopeo (a client nobody here wrote) reach a
 * webhook through Event Grid, with the validation handshake first, exactly as ACR → Event Grid → app would.
 */
describe('sandbox emulator (ACR + Event Grid + ARM + Entra)', () => {
  let sandbox: SandboxEmulator;
  let registry: StartedRegistry;
  let receiver: Receiver;
  let workDir: string;
  const events = (): DeliveredEvent[] =>
    receiver.notifications('/events').flatMap((request) => request.body as DeliveredEvent[]);

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'sandbox-'));
    sandbox = await startSandboxEmulator({ directory: workDir, eventGridTimeScale: 0.001, realTime: false });
    registry = sandbox.emulator.registry('sandbox');
    receiver = await startReceiver();
    receiver.on(
      '/events',
      validating(() => 200),
    );
    await sandbox.eventGrid.createSubscription({ name: 'test-receiver', endpoint: `${receiver.url}/events` });
    await sandbox.eventGrid.whenIdle();
  });
  afterAll(async () => {
    await receiver.close();
    await sandbox.close();
  });

  const push = async (layout: string, reference: string, extra: string[] = []): Promise<void> => {
    await skopeo(
      [
        'copy',
        ...extra,
        '--dest-tls-verify=false',
        `--dest-creds=${registry.username}:${registry.password}`,
        `oci:${layout}:${reference.split(':')[1]}`,
        `docker://${registry.pushAddress}/${reference}`,
      ],
      workDir,
    );
    await sandbox.eventGrid.whenIdle();
  };

  it('validates the subscription with the handshake before any event', () => {
    expect(receiver.received[0]!.headers['aeg-event-type']).toBe('SubscriptionValidation');
  });

  it('delivers ImagePushed for a skopeo push, with the Event Grid envelope ACR uses', async () => {
    const image = buildImage({ os: 'linux', architecture: 'amd64', label: 'sandbox-single' });
    const layout = await mkdtemp(join(workDir, 'layout-'));
    await writeOciLayout(layout, image, 'v1');

    await push(layout, 'team-a/app:v1');

    const pushed = events().find((event) => event.data.target.digest === image.digest);
    expect(pushed).toMatchObject({
      eventType: 'Microsoft.ContainerRegistry.ImagePushed',
      subject: 'team-a/app:v1',
      topic:
        '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/emulator-rg/providers/Microsoft.ContainerRegistry/registries/sandbox',
      dataVersion: '2.0',
      metadataVersion: '1',
      data: {
        action: 'push',
        target: {
          repository: 'team-a/app',
          tag: 'v1',
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          size: image.bytes.length,
        },
        request: { host: registry.loginServer, method: 'PUT' },
      },
    });
  });

  it('delivers one event per child and one for the tagged index when skopeo copies --all', async () => {
    const index = buildIndex([
      buildImage({ os: 'linux', architecture: 'amd64', label: 'multi' }),
      buildImage({ os: 'linux', architecture: 'arm64', label: 'multi' }),
    ]);
    const layout = await mkdtemp(join(workDir, 'layout-'));
    await writeOciLayout(layout, index, 'multi');

    await push(layout, 'team-b/multi:multi', ['--all']);

    const forRepo = events().filter((event) => event.data.target.repository === 'team-b/multi');
    expect(forRepo.filter((event) => event.data.target.tag === undefined)).toHaveLength(2);
    expect(forRepo.find((event) => event.data.target.tag === 'multi')?.data.target.digest).toBe(index.digest);
  });

  it('raises ImagePushed for the streaming referrer when a conversion succeeds', async () => {
    const acr = new RegistryClient({
      loginServer: registry.loginServer,
      credentials: { type: 'password', username: registry.username!, password: registry.password! },
      httpClient: trustingHttpClient(registry.caFile),
    });
    const digest = (await acr.resolveTag('team-a/app', 'v1'))!;

    const operation = await acr.startStreamingConversion('team-a/app', digest);
    await sandbox.control.advanceClock(60_000);
    await sandbox.control.waitForOperation('sandbox', operation.id);
    await sandbox.eventGrid.whenIdle();

    const [referrer] = await acr.listReferrers('team-a/app', digest, streamingArtifactType);
    const referrerEvent = events().find((event) => event.data.target.digest === referrer!.digest);
    expect(referrerEvent).toMatchObject({
      eventType: 'Microsoft.ContainerRegistry.ImagePushed',
      subject: 'team-a/app',
      data: { target: { repository: 'team-a/app' } },
    });
    expect(referrerEvent!.data.target.tag).toBeUndefined();
  });

  it('points unmodified product code at itself through app settings alone', () => {
    const settings = sandbox.appSettings();
    const registries = JSON.parse(settings.REGISTRIES!) as Array<{
      name: string;
      loginServer: string;
      auth: { passwordSetting: string };
    }>;

    expect(registries).toEqual([expect.objectContaining({ name: 'sandbox', loginServer: registry.loginServer })]);
    expect(settings[registries[0]!.auth.passwordSetting]).toBe(registry.password);
    expect(settings).toMatchObject({
      ARM_ENDPOINT: sandbox.emulator.managementUrl,
      AZURE_AUTHORITY_HOST: sandbox.emulator.managementUrl,
      NODE_EXTRA_CA_CERTS: sandbox.emulator.caFile,
    });
  });
});
