import type { EmulatorClock, EventSink } from '../contract.js';
import { errors } from './errors.js';
import {
  DIGEST_PATTERN,
  parseManifest,
  platformFromConfig,
  sha256Digest,
  type Descriptor,
  type ParsedManifest,
} from './manifest.js';
import { isImageConfigMediaType } from './media-types.js';

export interface ChangeableAttributes {
  deleteEnabled: boolean;
  writeEnabled: boolean;
  readEnabled: boolean;
  listEnabled: boolean;
}

export function defaultChangeable(): ChangeableAttributes {
  return { deleteEnabled: true, writeEnabled: true, readEnabled: true, listEnabled: true };
}

export interface BlobRecord {
  readonly digest: string;
  readonly size: number;
  /** Undefined for declared-size blobs (seeded >30 GB layers): HEAD works, GET cannot serve bytes. */
  readonly bytes: Buffer | undefined;
}

export interface ManifestRecord {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly parsed: ParsedManifest;
  readonly createdTime: Date;
  lastUpdateTime: Date;
  /** Image: config + layer sizes (what a pull transfers); index: the index document's own size. */
  readonly imageSize: number;
  readonly architecture: string | undefined;
  readonly os: string | undefined;
  /** Children of an index with their platforms (ACR `references`). */
  readonly references:
    readonly { digest: string; architecture: string | undefined; os: string | undefined }[] | undefined;
  readonly configMediaType: string | undefined;
  readonly artifactType: string | undefined;
  readonly subject: string | undefined;
  changeable: ChangeableAttributes;
}

export interface TagRecord {
  readonly name: string;
  digest: string;
  readonly createdTime: Date;
  lastUpdateTime: Date;
  changeable: ChangeableAttributes;
}

export interface StreamingSettings {
  convertPushedImages: boolean;
  conversionFormat: string | undefined;
  conversionVersion: string | undefined;
}

export interface Repository {
  readonly name: string;
  readonly createdTime: Date;
  lastUpdateTime: Date;
  readonly manifests: Map<string, ManifestRecord>;
  readonly tags: Map<string, TagRecord>;
  /** Subject digest → digests of the manifests referring to it, so a referrers call is not a scan of the repository. */
  readonly referrers: Map<string, Set<string>>;
  /** Blobs this repository may serve (uploaded, mounted or referenced here): HEAD in another repo is a 404. */
  readonly blobs: Set<string>;
  changeable: ChangeableAttributes;
  streaming: StreamingSettings;
}

interface Upload {
  readonly repository: string;
  readonly chunks: Buffer[];
  size: number;
}

export interface PushContext {
  readonly userAgent?: string | undefined;
}

export interface PushedManifest {
  readonly repository: string;
  readonly manifest: ManifestRecord;
  readonly tag: string | undefined;
}

const REPO_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export function isValidRepositoryName(name: string): boolean {
  return name.length <= 256 && name.split('/').every((part) => REPO_COMPONENT.test(part));
}

export function isDigest(reference: string): boolean {
  return DIGEST_PATTERN.test(reference);
}

/**
 * Content of one registry: blobs (content-addressed, registry-wide like ACR's storage), repositories with
 * manifests and tags, and in-flight uploads. Every manifest push/delete goes through here so events fire once.
 */
export class RegistryStore {
  readonly blobs = new Map<string, BlobRecord>();
  readonly repositories = new Map<string, Repository>();
  readonly #uploads = new Map<string, Upload>();
  readonly #pushListeners: ((pushed: PushedManifest) => void)[] = [];

  constructor(
    readonly registry: string,
    private readonly clock: EmulatorClock,
    private readonly sink: () => EventSink,
  ) {}

  /** Internal subscribers (auto-conversion) run after the EventSink has been told. */
  onManifestPushed(listener: (pushed: PushedManifest) => void): void {
    this.#pushListeners.push(listener);
  }

  repository(name: string): Repository | undefined {
    return this.repositories.get(name);
  }

  requireRepository(name: string): Repository {
    const repo = this.repositories.get(name);
    if (!repo) throw errors.nameUnknown(name);
    return repo;
  }

  #ensureRepository(name: string): Repository {
    if (!isValidRepositoryName(name)) throw errors.nameInvalid(name);
    let repo = this.repositories.get(name);
    if (!repo) {
      const now = this.clock.now();
      repo = {
        name,
        createdTime: now,
        lastUpdateTime: now,
        manifests: new Map(),
        tags: new Map(),
        referrers: new Map(),
        blobs: new Set(),
        changeable: defaultChangeable(),
        streaming: { convertPushedImages: false, conversionFormat: undefined, conversionVersion: undefined },
      };
      this.repositories.set(name, repo);
    }
    return repo;
  }

  // ---- blobs ---------------------------------------------------------------------------------------------

  putBlob(repository: string, bytes: Buffer, expectedDigest?: string): BlobRecord {
    const digest = sha256Digest(bytes);
    if (expectedDigest !== undefined && expectedDigest !== digest)
      throw errors.digestInvalid(`expected ${expectedDigest}, got ${digest}`);
    const record: BlobRecord = { digest, size: bytes.length, bytes };
    this.blobs.set(digest, record);
    this.#ensureRepository(repository).blobs.add(digest);
    return record;
  }

  /** A blob known only by digest and size, to simulate huge layers without storing them. */
  putDeclaredBlob(repository: string, digest: string, size: number): BlobRecord {
    const record: BlobRecord = { digest, size, bytes: undefined };
    if (!this.blobs.get(digest)?.bytes) this.blobs.set(digest, record);
    this.#ensureRepository(repository).blobs.add(digest);
    return record;
  }

  getBlob(repository: string, digest: string): BlobRecord {
    const blob = this.blobs.get(digest);
    if (!blob || !this.repositories.get(repository)?.blobs.has(digest)) throw errors.blobUnknown(digest);
    return blob;
  }

  /** Cross-repository mount: true when the source repository holds the blob. */
  mountBlob(repository: string, digest: string, from: string): BlobRecord | undefined {
    const blob = this.blobs.get(digest);
    if (!blob || !this.repositories.get(from)?.blobs.has(digest)) return undefined;
    this.#ensureRepository(repository).blobs.add(digest);
    return blob;
  }

  startUpload(repository: string, uuid: string): void {
    if (!isValidRepositoryName(repository)) throw errors.nameInvalid(repository);
    this.#uploads.set(uuid, { repository, chunks: [], size: 0 });
  }

  uploadSize(repository: string, uuid: string): number {
    return this.#upload(repository, uuid).size;
  }

  /** Appends a chunk; `start` (from Content-Range) must equal the current size, as distribution requires. */
  appendUpload(repository: string, uuid: string, chunk: Buffer, start?: number): number {
    const upload = this.#upload(repository, uuid);
    if (start !== undefined && start !== upload.size)
      throw errors.rangeInvalid(`expected range start ${upload.size}, got ${start}`);
    upload.chunks.push(chunk);
    upload.size += chunk.length;
    return upload.size;
  }

  completeUpload(repository: string, uuid: string, digest: string, lastChunk: Buffer): BlobRecord {
    const upload = this.#upload(repository, uuid);
    if (!DIGEST_PATTERN.test(digest)) throw errors.digestInvalid(`unsupported digest ${digest}`);
    const record = this.putBlob(repository, Buffer.concat([...upload.chunks, lastChunk]), digest);
    this.#uploads.delete(uuid);
    return record;
  }

  cancelUpload(repository: string, uuid: string): void {
    this.#upload(repository, uuid);
    this.#uploads.delete(uuid);
  }

  #upload(repository: string, uuid: string): Upload {
    const upload = this.#uploads.get(uuid);
    if (!upload || upload.repository !== repository) throw errors.uploadUnknown();
    return upload;
  }

  // ---- manifests -----------------------------------------------------------------------------------------

  /**
   * Hostile mode: how long a push stays invisible to manifest reads, as a reader served by a replica that has not
   * caught up would see it (docs/assumptions.md A2). 0, the default: visible at once.
   */
  readLagMs = 0;

  /** {@link resolve} for a reader: 404 MANIFEST_UNKNOWN until the push is `readLagMs` old. */
  resolveForRead(repository: string, reference: string): ManifestRecord {
    const manifest = this.resolve(repository, reference);
    if (this.readLagMs > 0 && this.clock.now().getTime() - manifest.lastUpdateTime.getTime() < this.readLagMs)
      throw errors.manifestUnknown(reference);
    return manifest;
  }

  resolve(repository: string, reference: string): ManifestRecord {
    const repo = this.requireRepository(repository);
    const digest = isDigest(reference) ? reference : repo.tags.get(reference)?.digest;
    const manifest = digest === undefined ? undefined : repo.manifests.get(digest);
    if (!manifest) throw errors.manifestUnknown(reference);
    return manifest;
  }

  putManifest(
    repository: string,
    reference: string,
    bytes: Buffer,
    contentType: string | undefined,
    context: PushContext,
  ): ManifestRecord {
    const digest = sha256Digest(bytes);
    const byDigest = isDigest(reference);
    if (byDigest && reference !== digest) throw errors.digestInvalid(`expected ${reference}, got ${digest}`);
    if (!byDigest && !TAG_PATTERN.test(reference)) throw errors.tagInvalid(reference);
    if (bytes.length > 4 * 1024 * 1024) throw errors.manifestInvalid('manifest exceeds 4 MiB');
    const parsed = parseManifest(bytes, contentType);
    const repo = this.#ensureRepository(repository);
    const record = this.#describe(repo, digest, bytes, parsed);
    const existing = repo.manifests.get(digest);
    const now = this.clock.now();
    repo.manifests.set(
      digest,
      existing ? { ...record, createdTime: existing.createdTime, changeable: existing.changeable } : record,
    );
    if (record.subject !== undefined) {
      const referring = repo.referrers.get(record.subject) ?? new Set<string>();
      repo.referrers.set(record.subject, referring.add(digest));
    }
    if (!byDigest) {
      const tag = repo.tags.get(reference);
      if (tag) {
        tag.digest = digest;
        tag.lastUpdateTime = now;
      } else {
        repo.tags.set(reference, {
          name: reference,
          digest,
          createdTime: now,
          lastUpdateTime: now,
          changeable: defaultChangeable(),
        });
      }
    }
    repo.lastUpdateTime = now;
    const stored = repo.manifests.get(digest) ?? record;
    this.sink().publish({
      action: 'push',
      registry: this.registry,
      repository,
      digest,
      mediaType: record.mediaType,
      size: bytes.length,
      ...(byDigest ? {} : { tag: reference }),
      ...(context.userAgent === undefined ? {} : { userAgent: context.userAgent }),
      method: 'PUT',
    });
    const pushed: PushedManifest = { repository, manifest: stored, tag: byDigest ? undefined : reference };
    for (const listener of this.#pushListeners) listener(pushed);
    return stored;
  }

  /** Deletes a manifest and every tag pointing at it (ACR deletes by digest; a tag resolves to its digest first). */
  deleteManifest(repository: string, reference: string, context: PushContext): ManifestRecord {
    const repo = this.requireRepository(repository);
    const manifest = this.resolve(repository, reference);
    if (!manifest.changeable.deleteEnabled)
      throw errors.denied('The operation is disallowed on this manifest because it is delete-locked.');
    repo.manifests.delete(manifest.digest);
    if (manifest.subject !== undefined) repo.referrers.get(manifest.subject)?.delete(manifest.digest);
    for (const [name, tag] of repo.tags) if (tag.digest === manifest.digest) repo.tags.delete(name);
    repo.lastUpdateTime = this.clock.now();
    this.sink().publish({
      action: 'delete',
      registry: this.registry,
      repository,
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      ...(context.userAgent === undefined ? {} : { userAgent: context.userAgent }),
      method: 'DELETE',
    });
    // ACR drops a repository with its last manifest: it vanishes from the catalog.
    if (repo.manifests.size === 0) this.repositories.delete(repository);
    return manifest;
  }

  deleteRepository(repository: string, context: PushContext): { manifestsDeleted: string[]; tagsDeleted: string[] } {
    const repo = this.requireRepository(repository);
    const tagsDeleted = [...repo.tags.keys()];
    const manifestsDeleted = [...repo.manifests.keys()];
    for (const digest of manifestsDeleted) {
      if (this.repositories.has(repository)) this.deleteManifest(repository, digest, context);
    }
    this.repositories.delete(repository);
    return { manifestsDeleted, tagsDeleted };
  }

  /** Manifests in `repository` whose `subject` is `digest` (OCI 1.1 referrers). */
  referrers(repository: string, digest: string): ManifestRecord[] {
    const repo = this.repositories.get(repository);
    const referring = repo?.referrers.get(digest);
    if (!repo || !referring) return [];
    return [...referring].flatMap((referrer) => repo.manifests.get(referrer) ?? []);
  }

  #describe(repo: Repository, digest: string, bytes: Buffer, parsed: ParsedManifest): ManifestRecord {
    const now = this.clock.now();
    const base = {
      digest,
      mediaType: parsed.mediaType,
      bytes,
      parsed,
      createdTime: now,
      lastUpdateTime: now,
      subject: parsed.subject?.digest,
      changeable: defaultChangeable(),
    };
    if (parsed.kind === 'index') {
      const references = parsed.manifests.map((child) => {
        if (!repo.manifests.has(child.digest)) throw errors.manifestBlobUnknown(child.digest);
        return { digest: child.digest, architecture: child.platform?.architecture, os: child.platform?.os };
      });
      return {
        ...base,
        imageSize: bytes.length,
        architecture: undefined,
        os: undefined,
        references,
        configMediaType: undefined,
        artifactType: parsed.artifactType,
      };
    }
    for (const descriptor of [parsed.config, ...parsed.layers]) this.#requireBlob(repo, descriptor);
    const configBlob = this.blobs.get(parsed.config.digest)?.bytes;
    const platform = isImageConfigMediaType(parsed.config.mediaType) ? platformFromConfig(configBlob) : {};
    return {
      ...base,
      imageSize: parsed.config.size + parsed.layers.reduce((sum, layer) => sum + layer.size, 0),
      architecture: platform.architecture,
      os: platform.os,
      references: undefined,
      configMediaType: parsed.config.mediaType,
      // OCI 1.1: artifactType falls back to the config media type for referrers listings.
      artifactType: parsed.artifactType,
    };
  }

  #requireBlob(repo: Repository, descriptor: Descriptor): void {
    const blob = this.blobs.get(descriptor.digest);
    if (!blob) throw errors.manifestBlobUnknown(descriptor.digest);
    if (blob.size !== descriptor.size)
      throw errors.manifestInvalid(`size of ${descriptor.digest} is ${blob.size}, descriptor says ${descriptor.size}`);
    repo.blobs.add(descriptor.digest);
  }
}
