import { createHash } from 'node:crypto';
import type { RegistryGateway } from '../../../lib/conversion/ports.js';
import {
  type FetchedManifest,
  streamingArtifactType,
  type Descriptor,
  type ManifestAttributes,
  type StreamingOperation,
  type StreamingOperationRef,
  type ReportedStatus,
  type RepositoryStreaming,
} from '../../../lib/core/acr.js';

export type GatewayMethod = keyof RegistryGateway;
const gatewayMethods: readonly GatewayMethod[] = [
  'getManifest',
  'getManifestAttributes',
  'listReferrers',
  'getStreamingOperation',
  'startStreamingConversion',
  'getOperation',
  'cancelOperation',
  'getRepositoryStreaming',
  'setRepositoryStreaming',
];

/** One answer of `GET _operations/{id}`; a bare status is shorthand for `{ status }`. */
export type OperationStep =
  ReportedStatus | { readonly status: ReportedStatus; readonly details?: string; readonly progress?: string };

export interface OperationScript {
  readonly steps: readonly OperationStep[];
  /** Whether ACR attaches the streaming referrer when the operation reports Succeeded (default true). */
  readonly attachReferrer?: boolean;
}

interface Operation {
  readonly id: string;
  readonly digest: string;
  readonly steps: readonly OperationStep[];
  readonly attachReferrer: boolean;
  polled: number;
  canceled: boolean;
}

/** A deterministic sha256 digest for a label, so tests can name images. */
export function digestOf(label: string): string {
  return `sha256:${createHash('sha256').update(label).digest('hex')}`;
}

/** A single-platform Docker v2 image: its manifest and ACR's attributes. */
export function dockerImage(
  options: { os?: string; architecture?: string; tags?: string[]; layerSizes?: number[]; imageSize?: number } = {},
): { manifest: FetchedManifest; attributes: ManifestAttributes } {
  const layers = (options.layerSizes ?? [1_000, 2_000]).map((size, index) => ({
    mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
    digest: digestOf(`layer-${index}-${size}`),
    size,
  }));
  const mediaType = 'application/vnd.docker.distribution.manifest.v2+json';
  return {
    manifest: {
      digest: '',
      mediaType,
      document: {
        schemaVersion: 2,
        mediaType,
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: digestOf('config'), size: 500 },
        layers,
      },
    },
    attributes: {
      digest: '',
      os: options.os ?? 'linux',
      architecture: options.architecture ?? 'amd64',
      tags: options.tags ?? [],
      mediaType,
      ...(options.imageSize === undefined ? {} : { imageSize: options.imageSize }),
    },
  };
}

/**
 * RegistryGateway with scripted answers per digest: manifests and attributes, referrers, operation status
 * sequences, and errors to throw. `calls` counts every call, so a test can tell how many conversions were
 * requested from the registry — an outcome there, not an implementation detail.
 */
export class ScriptedRegistry implements RegistryGateway {
  readonly calls: Record<GatewayMethod, number> = Object.fromEntries(
    gatewayMethods.map((method) => [method, 0]),
  ) as Record<GatewayMethod, number>;
  private readonly images = new Map<
    string,
    { manifest: FetchedManifest; attributes: ManifestAttributes | undefined }
  >();
  private readonly referrers = new Map<string, Descriptor[]>();
  private readonly operations = new Map<string, Operation>();
  private readonly nextScripts: OperationScript[] = [];
  private readonly errors = new Map<GatewayMethod, Error[]>();
  /** ACR's per-repository switch (`convertPushedImages`), off unless set. */
  readonly convertPushedImages = new Map<string, boolean>();
  private started = 0;
  /** Script for starts not scripted with scriptNextStart: running forever. */
  defaultScript: OperationScript = { steps: ['Running'] };

  addImage(digest: string, image: { manifest: FetchedManifest; attributes?: ManifestAttributes }): this {
    this.images.set(digest, {
      manifest: { ...image.manifest, digest },
      attributes: image.attributes && { ...image.attributes, digest },
    });
    return this;
  }

  /** Deletes the manifest and, as ACR does, its referrers and operations. */
  removeImage(digest: string): void {
    this.images.delete(digest);
    this.referrers.delete(digest);
    for (const operation of this.operations.values())
      if (operation.digest === digest) this.operations.delete(operation.id);
  }

  /** Attaches a streaming artifact (or the given referrer) to a digest. */
  addReferrer(
    digest: string,
    descriptor: Descriptor = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: digestOf(`streaming-${digest}`),
      size: 700,
      artifactType: streamingArtifactType,
    },
  ): void {
    this.referrers.set(digest, [...(this.referrers.get(digest) ?? []), descriptor]);
  }

  /** Deletes a digest's referrers, as copy and cleanup tools do. */
  removeReferrers(digest: string): void {
    this.referrers.delete(digest);
  }

  /** How the next conversions started will report, in order of starting. */
  scriptNextStart(...scripts: OperationScript[]): void {
    this.nextScripts.push(...scripts);
  }

  /** An operation that already exists for a digest (started by ACR itself, the CLI, or another instance). */
  addOperation(digest: string, id: string, script: OperationScript): void {
    this.operations.set(id, {
      id,
      digest,
      steps: script.steps,
      attachReferrer: script.attachReferrer ?? true,
      polled: 0,
      canceled: false,
    });
  }

  /** The operation is gone (ACR forgets operations after a while). */
  removeOperation(operationId: string): void {
    this.operations.delete(operationId);
  }

  /** The next call of `method` throws `error` (queued: one error per call). */
  failNext(method: GatewayMethod, error: Error): void {
    this.errors.set(method, [...(this.errors.get(method) ?? []), error]);
  }

  isCanceled(operationId: string): boolean {
    return this.operations.get(operationId)?.canceled ?? false;
  }

  getManifest(_repository: string, reference: string): Promise<FetchedManifest | undefined> {
    return this.answer('getManifest', () => this.images.get(reference)?.manifest);
  }

  getManifestAttributes(_repository: string, digest: string): Promise<ManifestAttributes | undefined> {
    return this.answer('getManifestAttributes', () => this.images.get(digest)?.attributes);
  }

  listReferrers(_repository: string, digest: string, artifactType?: string): Promise<Descriptor[]> {
    return this.answer('listReferrers', () =>
      (this.referrers.get(digest) ?? []).filter((d) => artifactType === undefined || d.artifactType === artifactType),
    );
  }

  getStreamingOperation(_repository: string, digest: string): Promise<StreamingOperationRef | undefined> {
    return this.answer('getStreamingOperation', () => {
      const latest = [...this.operations.values()].filter((op) => op.digest === digest).at(-1);
      return latest && { id: latest.id, status: this.current(latest).status };
    });
  }

  startStreamingConversion(
    _repository: string,
    digest: string,
    _options?: { readonly notAfter?: Date },
  ): Promise<StreamingOperationRef> {
    return this.answer('startStreamingConversion', () => {
      const script = this.nextScripts.shift() ?? this.defaultScript;
      const id = `op-${++this.started}`;
      this.addOperation(digest, id, script);
      return { id, status: 'NotStarted' as const };
    });
  }

  getOperation(_repository: string, operationId: string): Promise<StreamingOperation | undefined> {
    return this.answer('getOperation', () => {
      const operation = this.operations.get(operationId);
      if (operation === undefined) return undefined;
      const answer = this.current(operation);
      operation.polled++;
      if (
        answer.status === 'Succeeded' &&
        operation.attachReferrer &&
        !(this.referrers.get(operation.digest) ?? []).some((d) => d.artifactType === streamingArtifactType)
      )
        this.addReferrer(operation.digest);
      return answer;
    });
  }

  cancelOperation(_repository: string, operationId: string): Promise<StreamingOperation> {
    return this.answer('cancelOperation', () => {
      const operation = this.operations.get(operationId);
      if (operation) operation.canceled = true;
      return { name: 'Cancel: ArtifactStreamingConversion', status: 'Canceled' as const };
    });
  }

  getRepositoryStreaming(repository: string): Promise<RepositoryStreaming> {
    return this.answer('getRepositoryStreaming', () => ({
      convertPushedImages: this.convertPushedImages.get(repository) ?? false,
    }));
  }

  setRepositoryStreaming(repository: string, convertPushedImages: boolean): Promise<RepositoryStreaming> {
    return this.answer('setRepositoryStreaming', () => {
      this.convertPushedImages.set(repository, convertPushedImages);
      return { convertPushedImages };
    });
  }

  private current(operation: Operation): StreamingOperation {
    if (operation.canceled) return { status: 'Canceled' };
    const step = operation.steps[Math.min(operation.polled, operation.steps.length - 1)] ?? 'Running';
    return typeof step === 'string'
      ? { name: 'ArtifactStreamingConversion', status: step }
      : { name: 'ArtifactStreamingConversion', ...step };
  }

  private async answer<T>(method: GatewayMethod, produce: () => T): Promise<T> {
    this.calls[method]++;
    await Promise.resolve();
    const error = this.errors.get(method)?.shift();
    if (error) throw error;
    return structuredClone(produce());
  }
}
