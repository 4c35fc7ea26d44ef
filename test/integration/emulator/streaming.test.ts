import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STREAMING_ARTIFACT_TYPE } from '../../../dev/emulator/registry/media-types.js';
import type { SeedImageInput } from '../../../dev/emulator/control.js';
import type { StartedRegistry } from '../../../dev/emulator/server.js';
import { acrAccessToken, startTestEmulator, type TestEmulator } from './helpers.js';

interface Operation {
  name: string;
  resource: string;
  status: string;
  progress: string;
  details: string;
}

describe('artifact streaming conversions', () => {
  let t: TestEmulator;
  let sandbox: StartedRegistry;

  beforeAll(async () => {
    t = await startTestEmulator({
      registries: [
        { name: 'sandbox' },
        { name: 'standard', sku: 'Standard' },
        { name: 'cmk', customerManagedKey: true },
      ],
    });
    sandbox = t.emulator.registry('sandbox');
  });
  afterAll(async () => {
    await t.emulator.close();
  });

  async function call(
    registry: StartedRegistry,
    method: string,
    path: string,
    scope: string,
    body?: unknown,
  ): Promise<{ status: number; headers: Headers; json: unknown }> {
    const repo = /^\/(?:acr\/v1|v2)\/(.+?)\/(?:_streaming|_operations|referrers)/.exec(path)?.[1] ?? '';
    const token = await acrAccessToken(registry, [`repository:${repo}:${scope}`]);
    const response = await fetch(`http://${registry.pushAddress}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      json: text ? (JSON.parse(text) as unknown) : undefined,
    };
  }

  async function convert(
    registryName: string,
    input: SeedImageInput,
  ): Promise<{ digest: string; repository: string; id: string; final: Operation }> {
    const registry = t.emulator.registry(registryName);
    const seeded = await t.control.seedImage(registryName, input);
    const created = await call(
      registry,
      'POST',
      `/acr/v1/${input.repository}/_streaming/${seeded.digest}`,
      'pull,push',
      { conversionFormat: 'overlaybd', conversionVersion: 'v1' },
    );
    expect(created.status).toBe(202);
    const id = created.headers.get('operation-id') ?? '';
    expect(created.json).toEqual({ id, status: 'NotStarted' });
    const done = t.emulator.state.registry(registryName)?.streaming.waitForOperation(id);
    t.emulator.clock.advance(10 * 60_000);
    await done;
    const final = await call(registry, 'GET', `/acr/v1/${input.repository}/_operations/${id}`, 'pull');
    return { digest: seeded.digest, repository: input.repository, id, final: final.json as Operation };
  }

  async function streamingReferrers(
    repository: string,
    digest: string,
  ): Promise<{ digest: string; artifactType: string }[]> {
    const response = await call(
      sandbox,
      'GET',
      `/v2/${repository}/referrers/${digest}?artifactType=${encodeURIComponent(STREAMING_ARTIFACT_TYPE)}`,
      'pull',
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('oci-filters-applied')).toBe('artifactType');
    return (response.json as { manifests: { digest: string; artifactType: string }[] }).manifests;
  }

  it('converts a linux/amd64 image: NotStarted → Running (progress rises) → Succeeded, then a referrer exists', async () => {
    await t.control.setStreamingBehaviour('sandbox', 'conv/amd64', { startDelayMs: 1_000, durationMs: 10_000 });
    const seeded = await t.control.seedImage('sandbox', { kind: 'image', repository: 'conv/amd64', tag: 'v1' });
    const created = await call(sandbox, 'POST', `/acr/v1/conv/amd64/_streaming/${seeded.digest}`, 'pull,push', {});
    const id = created.headers.get('operation-id') ?? '';
    const poll = async (): Promise<Operation> =>
      (await call(sandbox, 'GET', `/acr/v1/conv/amd64/_operations/${id}`, 'pull')).json as Operation;

    expect((await poll()).status).toBe('NotStarted');
    await t.control.advanceClock(2_000);
    const early = await poll();
    await t.control.advanceClock(5_000);
    const later = await poll();
    expect([early.status, later.status]).toEqual(['Running', 'Running']);
    expect(Number.parseInt(later.progress, 10)).toBeGreaterThan(Number.parseInt(early.progress, 10));
    expect(later.details).toBe(`Conversion ongoing for resource conv/amd64@${seeded.digest}`);

    const referrerPushed = t.sink.next(
      (e) => e.repository === 'conv/amd64' && e.tag === undefined && e.action === 'push' && e.digest !== seeded.digest,
    );
    await t.control.advanceClock(10_000);
    const final = await poll();
    expect(final).toMatchObject({
      name: 'ArtifactStreamingConversion',
      resource: `conv/amd64@${seeded.digest}`,
      status: 'Succeeded',
      progress: '100%',
    });
    expect(final).not.toHaveProperty('id');
    const referrers = await streamingReferrers('conv/amd64', seeded.digest);
    expect(referrers).toHaveLength(1);
    expect(referrers[0]?.artifactType).toBe(STREAMING_ARTIFACT_TYPE);
    expect((await referrerPushed).digest).toBe(referrers[0]?.digest);

    // The referrer is a real manifest whose subject is the image and whose blobs can be pulled.
    const direct = await fetch(`http://${sandbox.pushAddress}/v2/conv/amd64/manifests/${referrers[0]?.digest ?? ''}`, {
      headers: { authorization: `Bearer ${await acrAccessToken(sandbox, ['repository:conv/amd64:pull'])}` },
    });
    const body = (await direct.json()) as {
      subject: { digest: string };
      artifactType: string;
      layers: { digest: string }[];
    };
    expect(body.subject.digest).toBe(seeded.digest);
    expect(body.artifactType).toBe(STREAMING_ARTIFACT_TYPE);
    const layer = await fetch(`http://${sandbox.pushAddress}/v2/conv/amd64/blobs/${body.layers[0]?.digest ?? ''}`, {
      headers: { authorization: `Bearer ${await acrAccessToken(sandbox, ['repository:conv/amd64:pull'])}` },
    });
    expect(layer.status).toBe(200);
  });

  it.each([
    [{ kind: 'image', repository: 'conv/arm64', tag: 'v1', platform: 'linux/arm64' }, 'UNSUPPORTED_PLATFORM'],
    [{ kind: 'image', repository: 'conv/windows', tag: 'v1', platform: 'windows/amd64' }, 'UNSUPPORTED_PLATFORM'],
    [
      { kind: 'index', repository: 'conv/arm-index', tag: 'v1', platforms: ['linux/arm64'] },
      'NO_SUPPORTED_PLATFORM_FOUND',
    ],
    [{ kind: 'helm', repository: 'conv/helm', tag: '0.1.0' }, 'UNSUPPORTED_MEDIATYPE'],
  ] satisfies [SeedImageInput, string][])('fails %o with %s and pushes no referrer', async (input, code) => {
    const { digest, repository, final } = await convert('sandbox', input);
    expect(final.status).toBe('Failed');
    expect(final.details.startsWith(`${code}: `)).toBe(true);
    expect(await streamingReferrers(repository, digest)).toEqual([]);
  });

  it('progress profile stall-then-jump: linear to 20 % over the first fifth, stuck there, then Succeeded', async () => {
    await t.control.setStreamingBehaviour('sandbox', 'conv/stall', {
      startDelayMs: 0,
      durationMs: 100_000,
      progressProfile: 'stall-then-jump',
    });
    const seeded = await t.control.seedImage('sandbox', { kind: 'image', repository: 'conv/stall', tag: 'v1' });
    const created = await call(sandbox, 'POST', `/acr/v1/conv/stall/_streaming/${seeded.digest}`, 'pull,push', {});
    const id = created.headers.get('operation-id') ?? '';
    const progressAfter = async (advanceMs: number): Promise<string> => {
      await t.control.advanceClock(advanceMs);
      const operation = (await call(sandbox, 'GET', `/acr/v1/conv/stall/_operations/${id}`, 'pull')).json as Operation;
      return `${operation.status} ${operation.progress}`;
    };
    const seen = [];
    for (const advanceMs of [10_000, 10_000, 30_000, 49_000, 1_000]) seen.push(await progressAfter(advanceMs));
    expect(seen).toEqual(['Running 10%', 'Running 20%', 'Running 20%', 'Running 20%', 'Succeeded 100%']);
  });

  it('converts a multi-arch index with an amd64 child; the referrer subject is the index', async () => {
    const { digest, final } = await convert('sandbox', { kind: 'index', repository: 'conv/multi', tag: 'v1' });
    expect(final.status).toBe('Succeeded');
    expect(await streamingReferrers('conv/multi', digest)).toHaveLength(1);
  });

  it('refuses to convert a streaming artifact (UNSUPPORTED_ARTIFACT_TYPE)', async () => {
    const image = await t.control.seedImage('sandbox', { kind: 'image', repository: 'conv/again', tag: 'v1' });
    const referrer = await t.control.seedImage('sandbox', {
      kind: 'streaming-referrer',
      repository: 'conv/again',
      subject: image.digest,
    });
    const created = await call(sandbox, 'POST', `/acr/v1/conv/again/_streaming/${referrer.digest}`, 'pull,push', {});
    const id = created.headers.get('operation-id') ?? '';
    t.emulator.clock.advance(60_000);
    const final = (await call(sandbox, 'GET', `/acr/v1/conv/again/_operations/${id}`, 'pull')).json as Operation;
    expect(final.status).toBe('Failed');
    expect(final.details).toMatch(/^UNSUPPORTED_ARTIFACT_TYPE: /);
    await t.control.deleteManifest('sandbox', 'conv/again', referrer.digest);
    expect(await streamingReferrers('conv/again', image.digest)).toEqual([]);
  });

  it('fails with the unknown error when told to', async () => {
    await t.control.setStreamingBehaviour('sandbox', 'conv/unlucky', { outcome: 'UnknownError' });
    const { final, digest } = await convert('sandbox', { kind: 'image', repository: 'conv/unlucky', tag: 'v1' });
    expect(final.status).toBe('Failed');
    expect(final.details).toBe('UNKNOWN_ERROR: Conversion operation failed due to an unknown error');
    expect(await streamingReferrers('conv/unlucky', digest)).toEqual([]);
  });

  it('cancels an ongoing conversion', async () => {
    const seeded = await t.control.seedImage('sandbox', { kind: 'image', repository: 'conv/cancel', tag: 'v1' });
    const created = await call(sandbox, 'POST', `/acr/v1/conv/cancel/_streaming/${seeded.digest}`, 'pull,push', {});
    const id = created.headers.get('operation-id') ?? '';
    t.emulator.clock.advance(3_000);
    const cancelled = await call(sandbox, 'POST', `/acr/v1/conv/cancel/_operations/${id}:cancel`, 'pull,push');
    expect(cancelled.json).toMatchObject({ name: 'Cancel: ArtifactStreamingConversion', status: 'Canceled' });
    t.emulator.clock.advance(60 * 60_000);
    expect(
      (
        (await call(sandbox, 'GET', `/acr/v1/conv/cancel/_streaming/${seeded.digest}`, 'pull')).json as {
          status: string;
        }
      ).status,
    ).toBe('Canceled');
    expect(await streamingReferrers('conv/cancel', seeded.digest)).toEqual([]);
  });

  it('auto-converts tag pushes when convertPushedImages is on', async () => {
    await t.control.seedImage('sandbox', { kind: 'image', repository: 'conv/auto', tag: 'v0' });
    const on = await call(sandbox, 'POST', '/acr/v1/conv/auto/_streaming', 'pull,push', {
      convertPushedImages: true,
      conversionFormat: 'overlaybd',
      conversionVersion: 'v1',
    });
    expect(on.status).toBe(202);
    expect(on.json).toMatchObject({ convertPushedImages: true, status: 'Succeeded' });
    const pushed = await t.control.seedImage('sandbox', { kind: 'image', repository: 'conv/auto', tag: 'v1' });
    const arm = await t.control.seedImage('sandbox', {
      kind: 'image',
      repository: 'conv/auto',
      tag: 'arm',
      platform: 'linux/arm64',
    });
    const op = (await call(sandbox, 'GET', `/acr/v1/conv/auto/_streaming/${pushed.digest}`, 'pull')).json as {
      id: string;
    };
    t.emulator.clock.advance(10 * 60_000);
    expect((await t.control.getOperation('sandbox', op.id)).status).toBe('Succeeded');
    expect(await streamingReferrers('conv/auto', pushed.digest)).toHaveLength(1);
    expect((await call(sandbox, 'GET', `/acr/v1/conv/auto/_streaming/${arm.digest}`, 'pull')).status).toBe(404);
  });

  it('operations expire: forgets a finished operation the set time after it ended (404)', async () => {
    await t.control.setStreamingBehaviour('sandbox', 'conv/expire-finished', {
      startDelayMs: 1_000,
      durationMs: 5_000,
      operationExpiry: { afterMs: 60_000, from: 'finished' },
    });
    const seeded = await t.control.seedImage('sandbox', {
      kind: 'image',
      repository: 'conv/expire-finished',
      tag: 'v1',
    });
    const path = `/acr/v1/conv/expire-finished`;
    const created = await call(sandbox, 'POST', `${path}/_streaming/${seeded.digest}`, 'pull,push', {});
    const id = created.headers.get('operation-id') ?? '';

    // Running for longer than the expiry: the clock only counts from the end.
    t.emulator.clock.advance(6_000 + 59_999);
    const ended = await call(sandbox, 'GET', `${path}/_operations/${id}`, 'pull');
    expect(ended).toMatchObject({ status: 200, json: { status: 'Succeeded' } });

    t.emulator.clock.advance(1);
    const forgotten = [
      await call(sandbox, 'GET', `${path}/_operations/${id}`, 'pull'),
      await call(sandbox, 'GET', `${path}/_streaming/${seeded.digest}`, 'pull'),
      await call(sandbox, 'POST', `${path}/_operations/${id}:cancel`, 'pull,push'),
    ];
    for (const answer of forgotten)
      expect(answer).toMatchObject({ status: 404, json: { errors: [{ code: 'OPERATION_UNKNOWN' }] } });
    // The work it did stays; only the control API still knows the operation, marked forgotten.
    expect(await streamingReferrers('conv/expire-finished', seeded.digest)).toHaveLength(1);
    expect(await t.control.getOperation('sandbox', id)).toMatchObject({ status: 'Succeeded', forgotten: true });
  });

  it('operations expire: a running one forgotten after creation blocks no new start, and ends', async () => {
    await t.control.setStreamingBehaviour('sandbox', 'conv/expire-running', {
      startDelayMs: 0,
      durationMs: 10_000,
      duplicateStart: 'conflict',
      operationExpiry: { afterMs: 3_000, from: 'created' },
    });
    const seeded = await t.control.seedImage('sandbox', {
      kind: 'image',
      repository: 'conv/expire-running',
      tag: 'v1',
    });
    const path = `/acr/v1/conv/expire-running`;
    const first = await call(sandbox, 'POST', `${path}/_streaming/${seeded.digest}`, 'pull,push', {});
    const firstId = first.headers.get('operation-id') ?? '';
    expect((await call(sandbox, 'POST', `${path}/_streaming/${seeded.digest}`, 'pull,push', {})).status).toBe(409);

    t.emulator.clock.advance(3_000);
    expect((await call(sandbox, 'GET', `${path}/_operations/${firstId}`, 'pull')).status).toBe(404);
    expect((await call(sandbox, 'GET', `${path}/_streaming/${seeded.digest}`, 'pull')).status).toBe(404);
    const second = await call(sandbox, 'POST', `${path}/_streaming/${seeded.digest}`, 'pull,push', {});
    expect(second.status).toBe(202);
    const secondId = second.headers.get('operation-id') ?? '';
    expect(secondId).not.toBe(firstId);
    expect(await call(sandbox, 'GET', `${path}/_streaming/${seeded.digest}`, 'pull')).toMatchObject({
      status: 200,
      json: { id: secondId },
    });

    // ACR dropped the record, not the work: both conversions end and each pushes its referrer.
    t.emulator.clock.advance(10_000);
    expect(await t.control.getOperation('sandbox', firstId)).toMatchObject({ status: 'Succeeded', forgotten: true });
    expect(await t.control.getOperation('sandbox', secondId)).toMatchObject({ status: 'Succeeded' });
    expect(await streamingReferrers('conv/expire-running', seeded.digest)).toHaveLength(2);
  });

  it('keeps operations by default (operationExpiry never)', async () => {
    const { repository, id } = await convert('sandbox', { kind: 'image', repository: 'conv/kept', tag: 'v1' });
    t.emulator.clock.advance(30 * 24 * 60 * 60_000);
    expect((await call(sandbox, 'GET', `/acr/v1/${repository}/_operations/${id}`, 'pull')).status).toBe(200);
  });

  it.each([
    ['standard', 'SKU_NOT_SUPPORTED'],
    ['cmk', 'CMK_NOT_SUPPORTED'],
  ])('refuses the POST on the %s registry with 403 DENIED (%s)', async (name, reason) => {
    const registry = t.emulator.registry(name);
    const seeded = await t.control.seedImage(name, { kind: 'image', repository: 'app', tag: 'v1' });
    const response = await call(registry, 'POST', `/acr/v1/app/_streaming/${seeded.digest}`, 'pull,push', {});
    expect(response.status).toBe(403);
    expect(response.json).toMatchObject({ errors: [{ code: 'DENIED', detail: { reason } }] });
  });
});
