import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { RegistryStore } from './store.js';
import { sha256Digest } from './manifest.js';
import { MediaType, STREAMING_ARTIFACT_TYPE } from './media-types.js';

/**
 * Generates real OCI content (tar+gzip layers, image configs with diff_ids, manifests, indexes, Helm charts,
 * streaming referrers) so that clients which inspect or copy it (skopeo, the SDK) see nothing fake.
 */

export interface BuiltBlob {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  /** Undefined for a declared-size layer (only its descriptor exists). */
  readonly bytes: Buffer | undefined;
}

export interface BuiltManifest {
  readonly mediaType: string;
  readonly digest: string;
  readonly bytes: Buffer;
  readonly blobs: readonly BuiltBlob[];
  /** Index children, pushed before the index. */
  readonly children: readonly BuiltManifest[];
  readonly platform?: { architecture: string; os: string };
}

function tarEntry(name: string, content: Buffer, mtime: number): Buffer {
  const header = Buffer.alloc(512, 0);
  const write = (value: string, offset: number, length: number): void => {
    header.write(value.slice(0, length), offset, length, 'ascii');
  };
  const octal = (value: number, length: number): string => value.toString(8).padStart(length - 1, '0') + '\0';
  write(name, 0, 100);
  write(octal(0o644, 8), 100, 8);
  write(octal(0, 8), 108, 8);
  write(octal(0, 8), 116, 8);
  write(octal(content.length, 12), 124, 12);
  write(octal(mtime, 12), 136, 12);
  write('        ', 148, 8); // checksum is computed with its own field as spaces
  write('0', 156, 1);
  write('ustar\0', 257, 6);
  write('00', 263, 2);
  let sum = 0;
  for (const byte of header) sum += byte;
  write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
  return Buffer.concat([header, content, padding]);
}

/** A tar archive of the given files (plus the two zero end-of-archive blocks). */
export function tarArchive(files: Record<string, string | Buffer>, mtime = 0): Buffer {
  const entries = Object.entries(files).map(([name, content]) =>
    tarEntry(name, Buffer.isBuffer(content) ? content : Buffer.from(content), mtime),
  );
  return Buffer.concat([...entries, Buffer.alloc(1024, 0)]);
}

function blob(mediaType: string, bytes: Buffer): BuiltBlob {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length, bytes };
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function manifest(
  mediaType: string,
  document: Record<string, unknown>,
  blobs: BuiltBlob[],
  children: BuiltManifest[] = [],
): BuiltManifest {
  const bytes = json({ schemaVersion: 2, mediaType, ...document });
  return { mediaType, digest: sha256Digest(bytes), bytes, blobs, children };
}

const descriptor = (b: {
  mediaType: string;
  digest: string;
  size: number;
}): { mediaType: string; digest: string; size: number } => ({
  mediaType: b.mediaType,
  digest: b.digest,
  size: b.size,
});

export interface ImageOptions {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  /** Makes otherwise identical images distinct (different digests). */
  readonly label?: string;
  /** Extra layers known only by size (e.g. 40 GiB) to simulate images too large to store. */
  readonly declaredLayerSizes?: readonly number[];
  /** Docker v2 schema 2 media types instead of OCI. */
  readonly docker?: boolean;
  readonly created?: Date;
}

export function buildImage(options: ImageOptions): BuiltManifest {
  const label = options.label ?? `${options.os}/${options.architecture}`;
  const created = (options.created ?? new Date(0)).toISOString();
  const tar = tarArchive({ 'etc/emulator-release': `image ${label}\n` });
  const layer = blob(options.docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip, gzipSync(tar, { level: 9 }));
  const declared: BuiltBlob[] = (options.declaredLayerSizes ?? []).map((size, i) => ({
    mediaType: options.docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip,
    // No bytes exist, so the digest is synthetic but unique per (label, size, position).
    digest: 'sha256:' + createHash('sha256').update(`declared:${label}:${size}:${i}`).digest('hex'),
    size,
    bytes: undefined,
  }));
  const diffIds = [sha256Digest(tar), ...declared.map((d) => d.digest)];
  const config = blob(
    options.docker ? MediaType.dockerConfig : MediaType.ociConfig,
    json({
      created,
      architecture: options.architecture,
      os: options.os,
      ...(options.variant ? { variant: options.variant } : {}),
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Cmd: ['/bin/sh'],
        Labels: { 'emulator.label': label },
      },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: [{ created, created_by: 'acr-emulator' }],
    }),
  );
  const layers = [layer, ...declared];
  const built = manifest(
    options.docker ? MediaType.dockerManifest : MediaType.ociManifest,
    { config: descriptor(config), layers: layers.map(descriptor) },
    [config, ...layers],
  );
  return { ...built, platform: { architecture: options.architecture, os: options.os } };
}

export function buildIndex(children: readonly BuiltManifest[], options: { docker?: boolean } = {}): BuiltManifest {
  const mediaType = options.docker ? MediaType.dockerManifestList : MediaType.ociIndex;
  return manifest(
    mediaType,
    {
      manifests: children.map((c) => ({
        ...descriptor({ mediaType: c.mediaType, digest: c.digest, size: c.bytes.length }),
        ...(c.platform ? { platform: c.platform } : {}),
      })),
    },
    [],
    [...children],
  );
}

/** A Helm chart as `helm push` stores it in an OCI registry. */
export function buildHelmChart(name: string, version: string): BuiltManifest {
  const config = blob(MediaType.helmConfig, json({ apiVersion: 'v2', name, version, type: 'application' }));
  const chart = blob(
    MediaType.helmChart,
    gzipSync(tarArchive({ [`${name}/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: ${version}\n` })),
  );
  return manifest(MediaType.ociManifest, { config: descriptor(config), layers: [descriptor(chart)] }, [config, chart]);
}

/**
 * The artifact ACR's conversion leaves behind: an OCI image manifest with artifactType
 * `application/vnd.azure.artifact.streaming.v1` whose subject is the converted image (or index).
 */
export function buildStreamingReferrer(
  subject: { mediaType: string; digest: string; size: number },
  created: Date,
): BuiltManifest {
  const tar = tarArchive({ '.overlaybd/commit': `converted ${subject.digest}\n` });
  const layer = blob(MediaType.ociLayerTar, tar);
  const config = blob(
    MediaType.ociConfig,
    json({
      created: created.toISOString(),
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    }),
  );
  return manifest(
    MediaType.ociManifest,
    {
      artifactType: STREAMING_ARTIFACT_TYPE,
      config: descriptor(config),
      layers: [
        {
          ...descriptor(layer),
          annotations: {
            'containerd.io/snapshot/overlaybd/blob-digest': layer.digest,
            'containerd.io/snapshot/overlaybd/blob-size': String(layer.size),
          },
        },
      ],
      subject: descriptor(subject),
      annotations: { 'org.opencontainers.image.created': created.toISOString() },
    },
    [config, layer],
  );
}

/** Stores blobs, then children, then the manifest itself (each manifest PUT raises its event). */
export function pushBuilt(
  store: RegistryStore,
  repository: string,
  built: BuiltManifest,
  tag: string | undefined,
  userAgent: string,
): void {
  for (const child of built.children) pushBuilt(store, repository, child, undefined, userAgent);
  for (const b of built.blobs) {
    if (b.bytes) store.putBlob(repository, b.bytes, b.digest);
    else store.putDeclaredBlob(repository, b.digest, b.size);
  }
  store.putManifest(repository, tag ?? built.digest, built.bytes, built.mediaType, { userAgent });
}

/** What a test push is: one linux image, or a multi-arch index of linux/amd64 and linux/arm64. */
export type TestImageKind = 'linux/amd64' | 'linux/arm64' | 'index';

/** A small image of that kind; `label` makes its digest unique (as a new build would be). */
export function buildTestImage(kind: TestImageKind, label: string): BuiltManifest {
  return kind === 'index'
    ? buildIndex([
        buildImage({ os: 'linux', architecture: 'amd64', label }),
        buildImage({ os: 'linux', architecture: 'arm64', label }),
      ])
    : buildImage({ os: 'linux', architecture: kind === 'linux/arm64' ? 'arm64' : 'amd64', label });
}
