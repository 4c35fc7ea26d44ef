import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmulatorControlClient } from '../../../dev/emulator/control-client.js';
import type { StartedRegistry } from '../../../dev/emulator/server.js';
import { RegistryClient } from '../../../lib/registry/client.js';
import { AcrError } from '../../../lib/core/errors.js';
import { streamingArtifactType } from '../../../lib/core/acr.js';
import { trustingHttpClient } from '../../support/trust.js';
import { startTestEmulator, type TestEmulator } from '../emulator/helpers.js';

/** The product's ACR data-plane client against the emulator, over HTTPS with the real token flow. */
describe('RegistryClient', () => {
  let t: TestEmulator;
  let registry: StartedRegistry;
  let control: EmulatorControlClient;
  let amd64: string;
  let arm64: string;

  const client = (overrides: { password?: string } = {}): RegistryClient =>
    new RegistryClient({
      loginServer: registry.loginServer,
      credentials: {
        type: 'password',
        username: registry.username!,
        password: overrides.password ?? registry.password!,
      },
      httpClient: trustingHttpClient(registry.caFile),
      retry: { baseDelayMs: 5, maxDelayMs: 50 },
    });

  beforeAll(async () => {
    t = await startTestEmulator({ registries: [{ name: 'sandbox' }] });
    registry = t.emulator.registry('sandbox');
    control = new EmulatorControlClient(t.emulator.controlUrl);
    amd64 = (
      await control.seedImage('sandbox', {
        repository: 'team-a/app',
        tag: 'v1',
        kind: 'image',
        platform: 'linux/amd64',
      })
    ).digest;
    arm64 = (
      await control.seedImage('sandbox', {
        repository: 'team-a/arm',
        tag: 'v1',
        kind: 'image',
        platform: 'linux/arm64',
      })
    ).digest;
  });
  afterAll(() => t.emulator.close());
  beforeEach(async () => {
    await control.clearFaults();
    await control.clearRequests();
  });

  it('reads manifests, attributes and tags with the narrowest scopes, one token per scope', async () => {
    const acr = client();

    const manifest = await acr.getManifest('team-a/app', 'v1');
    const attributes = await acr.getManifestAttributes('team-a/app', amd64);
    const digest = await acr.resolveTag('team-a/app', 'v1');
    await acr.getManifest('team-a/app', amd64);

    expect(manifest).toMatchObject({ digest: amd64, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    expect(attributes).toMatchObject({ digest: amd64, architecture: 'amd64', os: 'linux' });
    expect(digest).toBe(amd64);
    const tokenRequests = await control.requests({ method: 'POST', path: '/oauth2/token' });
    expect(tokenRequests).toHaveLength(2); // pull, metadata_read — the second manifest read reused the pull token
    expect(await acr.resolveTag('team-a/app', 'nope')).toBeUndefined();
    expect(await acr.getManifest('team-a/app', 'nope')).toBeUndefined();
  });

  it('reports no streaming operation as undefined (ACR answers 404 OPERATION_UNKNOWN)', async () => {
    expect(await client().getStreamingOperation('team-a/app', amd64)).toBeUndefined();
  });

  it('starts a conversion, tracks it to Succeeded, and finds the streaming referrer', async () => {
    const acr = client();

    const started = await acr.startStreamingConversion('team-a/app', amd64);
    expect(started.status).toBe('NotStarted');
    expect(await acr.getStreamingOperation('team-a/app', amd64)).toMatchObject({ id: started.id });
    await control.advanceClock(60_000);
    await control.waitForOperation('sandbox', started.id);
    const operation = await acr.getOperation('team-a/app', started.id);
    const referrers = await acr.listReferrers('team-a/app', amd64, streamingArtifactType);

    expect(operation).toMatchObject({ status: 'Succeeded', progress: '100%' });
    expect(referrers).toHaveLength(1);
    expect(referrers[0]!.artifactType).toBe(streamingArtifactType);
  });

  it('reports an unsupported platform in the operation details', async () => {
    const acr = client();

    const started = await acr.startStreamingConversion('team-a/arm', arm64);
    await control.advanceClock(60_000);
    await control.waitForOperation('sandbox', started.id);

    const operation = await acr.getOperation('team-a/arm', started.id);
    expect(operation?.status).toBe('Failed');
    expect(operation?.details).toContain('UNSUPPORTED_PLATFORM');
  });

  it('waits out 429 Retry-After and retries idempotent reads after 5xx', async () => {
    const acr = client();
    await acr.getManifest('team-a/app', 'v1'); // token cached first
    await control.clearRequests();
    await control.addFault({
      method: 'GET',
      path: '^/v2/team-a/app/manifests',
      action: { kind: 'status', status: 429, retryAfterSeconds: 0 },
      count: 1,
    });
    await control.addFault({
      method: 'GET',
      path: '^/v2/team-a/app/manifests',
      action: { kind: 'status', status: 503 },
      count: 1,
    });

    const manifest = await acr.getManifest('team-a/app', 'v1');

    expect(manifest?.digest).toBe(amd64);
    const attempts = await control.requests({ method: 'GET', path: '/v2/team-a/app/manifests/v1' });
    expect(attempts.map((entry) => entry.status)).toEqual([429, 503, 200]);
  });

  it('never repeats a conversion POST after a server fault, and carries ACR code and status', async () => {
    const acr = client();
    await control.addFault({
      method: 'POST',
      path: '_streaming/',
      action: { kind: 'status', status: 500, code: 'INTERNAL_ERROR' },
    });

    const error = await acr.startStreamingConversion('team-a/app', amd64).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AcrError);
    expect((error as AcrError).details).toMatchObject({ status: 500, code: 'INTERNAL_ERROR', method: 'POST' });
    expect((error as AcrError).transient).toBe(true);
    expect(await control.requests({ method: 'POST', path: `/acr/v1/team-a/app/_streaming/${amd64}` })).toHaveLength(1);
  });

  it('fails with UNAUTHORIZED when the password is wrong, without leaking it in the message', async () => {
    const error = (await client({ password: 'wrong-secret-123' })
      .getManifest('team-a/app', 'v1')
      .catch((caught: unknown) => caught)) as AcrError;

    expect(error).toBeInstanceOf(AcrError);
    expect(error.status).toBe(401);
    expect(error.message).not.toContain('wrong-secret-123');
  });

  it('authenticates with an Entra ID identity through exchange → token, exchanging once for many scopes', async () => {
    let entraTokens = 0;
    const acr = new RegistryClient({
      loginServer: registry.loginServer,
      credentials: {
        type: 'identity',
        audience: 'https://containerregistry.azure.net',
        credential: {
          getToken: () =>
            Promise.resolve({ token: `entra-token-${++entraTokens}`, expiresOnTimestamp: Date.now() + 3_600_000 }),
        },
      },
      httpClient: trustingHttpClient(registry.caFile),
    });

    expect(await acr.resolveTag('team-a/app', 'v1')).toBe(amd64);
    expect((await acr.getManifest('team-a/app', 'v1'))?.digest).toBe(amd64);

    expect(await control.requests({ method: 'POST', path: '/oauth2/exchange' })).toHaveLength(1);
    expect(await control.requests({ method: 'POST', path: '/oauth2/token' })).toHaveLength(2);
    expect(entraTokens).toBe(1);
  });
});
