import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, buildIndex } from '../../../dev/emulator/registry/content.js';
import { MediaType } from '../../../dev/emulator/registry/media-types.js';
import type { StartedRegistry } from '../../../dev/emulator/server.js';
import { certDirFor, skopeo, startTestEmulator, writeOciLayout, type TestEmulator } from './helpers.js';

describe('skopeo against the emulator', () => {
  let t: TestEmulator;
  let registry: StartedRegistry;
  let certDir: string;

  beforeAll(async () => {
    t = await startTestEmulator({ registries: [{ name: 'sandbox' }] });
    registry = t.emulator.registry('sandbox');
    certDir = await certDirFor(registry.caFile, t.workDir);
  });
  afterAll(async () => {
    await t.emulator.close();
  });

  const creds = (): string => `${registry.username ?? ''}:${registry.password ?? ''}`;

  it('copies a single-arch image over plain HTTP and reads it back over HTTPS', async () => {
    const image = buildImage({ os: 'linux', architecture: 'amd64', label: 'single' });
    const layout = await mkdtemp(join(t.workDir, 'layout-'));
    await writeOciLayout(layout, image, 'v1');

    await skopeo(
      [
        'copy',
        '--dest-tls-verify=false',
        `--dest-creds=${creds()}`,
        `oci:${layout}:v1`,
        `docker://${registry.pushAddress}/team-a/app:v1`,
      ],
      t.workDir,
    );
    const inspected = JSON.parse(
      await skopeo(
        ['inspect', `--cert-dir=${certDir}`, `--creds=${creds()}`, `docker://${registry.loginServer}/team-a/app:v1`],
        t.workDir,
      ),
    ) as { Digest: string; Architecture: string; Os: string; Layers: string[] };

    expect(inspected).toMatchObject({ Digest: image.digest, Architecture: 'amd64', Os: 'linux' });
    expect(inspected.Layers).toHaveLength(1);
    const event = await t.sink.next((e) => e.repository === 'team-a/app' && e.tag === 'v1');
    expect(event).toMatchObject({
      action: 'push',
      registry: 'sandbox',
      digest: image.digest,
      mediaType: MediaType.ociManifest,
      size: image.bytes.length,
      method: 'PUT',
    });
    expect(event.userAgent).toMatch(/^skopeo\//);
  });

  it('copies a multi-arch index with --all: one event per child and one for the index', async () => {
    const index = buildIndex([
      buildImage({ os: 'linux', architecture: 'amd64', label: 'multi' }),
      buildImage({ os: 'linux', architecture: 'arm64', label: 'multi' }),
    ]);
    const layout = await mkdtemp(join(t.workDir, 'layout-'));
    await writeOciLayout(layout, index, 'multi');

    await skopeo(
      [
        'copy',
        '--all',
        '--dest-tls-verify=false',
        `--dest-creds=${creds()}`,
        `oci:${layout}:multi`,
        `docker://${registry.pushAddress}/team-b/multi:v1`,
      ],
      t.workDir,
    );
    const raw = JSON.parse(
      await skopeo(
        [
          'inspect',
          '--raw',
          '--tls-verify=true',
          `--cert-dir=${certDir}`,
          `--creds=${creds()}`,
          `docker://${registry.loginServer}/team-b/multi:v1`,
        ],
        t.workDir,
      ),
    ) as { mediaType: string; manifests: { digest: string; platform: { architecture: string } }[] };

    expect(raw.mediaType).toBe(MediaType.ociIndex);
    expect(raw.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    const pushes = t.sink.events.filter((e) => e.repository === 'team-b/multi');
    expect(pushes.map((e) => e.digest)).toEqual([...index.children.map((c) => c.digest), index.digest]);
    expect(pushes.at(-1)).toMatchObject({ tag: 'v1', mediaType: MediaType.ociIndex });
    expect(pushes.slice(0, 2).every((e) => e.tag === undefined)).toBe(true);
  });

  it('refuses HTTPS without the CA and accepts it with --cert-dir', async () => {
    await expect(
      skopeo(['inspect', `--creds=${creds()}`, `docker://${registry.loginServer}/team-a/app:v1`], t.workDir),
    ).rejects.toThrow(/certificate/);
  });

  it('mounts a blob across repositories (?mount=&from=) instead of uploading it again', async () => {
    const image = buildImage({ os: 'linux', architecture: 'amd64', label: 'mount' });
    const layer = image.blobs[1];
    if (!layer?.bytes) throw new Error('layer expected');
    const auth = `Basic ${Buffer.from(creds()).toString('base64')}`;
    const base = `http://${registry.pushAddress}`;
    const upload = await fetch(`${base}/v2/mount-src/blobs/uploads/?digest=${layer.digest}`, {
      method: 'POST',
      headers: { authorization: auth },
      body: layer.bytes,
    });
    expect(upload.status).toBe(201);

    const missing = await fetch(`${base}/v2/mount-dst/blobs/${layer.digest}`, {
      method: 'HEAD',
      headers: { authorization: auth },
    });
    expect(missing.status).toBe(404);
    const mount = await fetch(`${base}/v2/mount-dst/blobs/uploads/?mount=${layer.digest}&from=mount-src`, {
      method: 'POST',
      headers: { authorization: auth },
    });
    expect(mount.status).toBe(201);
    expect(mount.headers.get('docker-content-digest')).toBe(layer.digest);
    const head = await fetch(`${base}/v2/mount-dst/blobs/${layer.digest}`, {
      method: 'HEAD',
      headers: { authorization: auth },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(layer.size));
  });

  it('rejects a manifest whose digest does not match the URL', async () => {
    const image = buildImage({ os: 'linux', architecture: 'amd64', label: 'mount' });
    const auth = `Basic ${Buffer.from(creds()).toString('base64')}`;
    const wrong = 'sha256:' + '0'.repeat(64);
    const response = await fetch(`http://${registry.pushAddress}/v2/team-a/app/manifests/${wrong}`, {
      method: 'PUT',
      headers: { authorization: auth, 'content-type': image.mediaType },
      body: image.bytes,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ code: 'DIGEST_INVALID' }] });
  });
});
