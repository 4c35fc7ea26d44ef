import { z } from 'zod';

/**
 * ACR's data model and the port the domains call it through. Response shapes as recorded from a real registry
 * (test/fixtures/reference/acr-streaming-transcript.json; docs/sources.md § ACR artifact streaming API, § ACR metadata
 * API). Parsed loosely (`looseObject`): ACR adds fields over time and that must not break us.
 */
export const streamingArtifactType = 'application/vnd.azure.artifact.streaming.v1';

export const streamingStatuses = ['NotStarted', 'Running', 'Succeeded', 'Failed', 'Canceled'] as const;
/**
 * The statuses ACR is known to report; a status it adds later is kept verbatim (the schemas take any text), so an
 * operation in a state nobody has seen yet is polled on until a known one or the deadline, not a parse error.
 */
export type StreamingStatus = (typeof streamingStatuses)[number];
// `string & {}` keeps the known names for completion while admitting any other text.
export type ReportedStatus = StreamingStatus | (string & {});
export const isOngoing = (status: ReportedStatus): status is 'NotStarted' | 'Running' =>
  status === 'NotStarted' || status === 'Running';
export const isKnownStatus = (status: ReportedStatus): status is StreamingStatus =>
  (streamingStatuses as readonly string[]).includes(status);

/** `POST|GET /acr/v1/{repo}/_streaming/{digest}`: `{"id","status"}`. */
const reportedStatus = z.string().min(1).max(100) as z.ZodType<ReportedStatus>;
export const streamingOperationRef = z.looseObject({ id: z.string().min(1), status: reportedStatus });
export type StreamingOperationRef = z.infer<typeof streamingOperationRef>;

/** `GET /acr/v1/{repo}/_operations/{id}`: no `id` here; `progress` is a string like "1%". */
export const streamingOperation = z.looseObject({
  name: z.string().optional(),
  resource: z.string().optional(),
  status: reportedStatus,
  startTime: z.string().optional(),
  progress: z.string().optional(),
  details: z.string().optional(),
});
export type StreamingOperation = z.infer<typeof streamingOperation>;

/** `GET|POST /acr/v1/{repo}/_streaming`. */
export const repositoryStreaming = z.looseObject({
  convertPushedImages: z.boolean(),
  conversionFormat: z.string().optional(),
  conversionVersion: z.string().optional(),
});
export type RepositoryStreaming = z.infer<typeof repositoryStreaming>;

export const descriptor = z.looseObject({
  mediaType: z.string(),
  digest: z.string(),
  size: z.number(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: z.looseObject({ architecture: z.string(), os: z.string(), variant: z.string().optional() }).optional(),
});
export type Descriptor = z.infer<typeof descriptor>;

/** OCI image index as the referrers API returns it. */
export const referrersIndex = z.looseObject({ manifests: z.array(descriptor).default([]) });

/** Any manifest: image manifest, index / manifest list, or artifact. */
export const manifestDocument = z.looseObject({
  schemaVersion: z.number().optional(),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptor.optional(),
  layers: z.array(descriptor).optional(),
  manifests: z.array(descriptor).optional(),
  subject: descriptor.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ManifestDocument = z.infer<typeof manifestDocument>;

/** `GET /acr/v1/{repo}/_manifests/{digest}` → `{ registry, imageName, manifest: {...} }`. */
export const manifestAttributes = z.looseObject({
  digest: z.string(),
  imageSize: z.number().optional(),
  createdTime: z.string().optional(),
  lastUpdateTime: z.string().optional(),
  architecture: z.string().optional(),
  os: z.string().optional(),
  mediaType: z.string().optional(),
  tags: z.array(z.string()).optional(),
  references: z
    .array(z.looseObject({ digest: z.string(), architecture: z.string().optional(), os: z.string().optional() }))
    .optional(),
});
export type ManifestAttributes = z.infer<typeof manifestAttributes>;
export const manifestAttributesResponse = z.looseObject({ manifest: manifestAttributes });

export const manifestListResponse = z.looseObject({ manifests: z.array(manifestAttributes).default([]) });

/** `GET /acr/v1/_catalog` → `{ repositories: [...] }`; an empty registry may omit the list or send null. */
export const catalogResponse = z.looseObject({
  repositories: z
    .array(z.string())
    .nullish()
    .transform((names) => names ?? []),
});

/** `GET /acr/v1/{repo}/_tags/{tag}` → `{ registry, imageName, tag: { name, digest, ... } }`. */
export const tagResponse = z.looseObject({ tag: z.looseObject({ name: z.string(), digest: z.string() }) });

export const acrErrorBody = z.looseObject({
  errors: z.array(z.looseObject({ code: z.string(), message: z.string().optional() })).min(1),
});

/** Media types a registry may store a manifest under; sent as Accept so nothing is converted by the registry. */
export const manifestMediaTypes = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.artifact.manifest.v1+json',
] as const;

const indexMediaTypes: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/** Whether a manifest media type is a multi-platform index (OCI image index or Docker manifest list). */
export function isIndexMediaType(mediaType: string): boolean {
  return indexMediaTypes.has(mediaType);
}

/** A manifest as the registry served it: the digest it was asked for, its media type and the parsed document. */
export interface FetchedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly document: ManifestDocument;
}

/**
 * ACR's data plane as the domains use it (the port; lib/registry/client.ts implements it over HTTP). Each domain
 * picks the calls it makes, so a test fake implements only those. Errors are {@link AcrError}s.
 */
export interface RegistryDataPlane {
  /** The manifest by digest or tag; undefined when it does not exist. */
  getManifest(repository: string, reference: string): Promise<FetchedManifest | undefined>;
  /** ACR's attributes of a manifest (size, platform, tags, children of an index); undefined when it does not exist. */
  getManifestAttributes(repository: string, digest: string): Promise<ManifestAttributes | undefined>;
  /** The digest a tag points at, or undefined when the tag does not exist. */
  resolveTag(repository: string, tag: string): Promise<string | undefined>;
  /**
   * Referrers of a manifest (OCI 1.1 referrers API), optionally of one artifact type. With `notAfter` (here and on
   * the calls below), no retry starts later than that instant, so a call made under a lease never outlasts it.
   */
  listReferrers(
    repository: string,
    digest: string,
    artifactType?: string,
    options?: { readonly notAfter?: Date },
  ): Promise<Descriptor[]>;
  /** The conversion operation ACR tracks for a digest, or undefined when there is none. */
  getStreamingOperation(
    repository: string,
    digest: string,
    options?: { readonly notAfter?: Date },
  ): Promise<StreamingOperationRef | undefined>;
  /**
   * `POST _streaming/{digest}`: asks ACR to convert. With `notAfter`, no retry (after a 429) starts later than
   * that instant, so the call never outlasts the caller's lease.
   */
  startStreamingConversion(
    repository: string,
    digest: string,
    options?: { readonly notAfter?: Date },
  ): Promise<StreamingOperationRef>;
  /** An operation's status and progress; undefined when ACR no longer knows it. */
  getOperation(repository: string, operationId: string): Promise<StreamingOperation | undefined>;
  cancelOperation(repository: string, operationId: string): Promise<StreamingOperation>;
  /** ACR's own per-repository switch (`convertPushedImages`). */
  getRepositoryStreaming(repository: string): Promise<RepositoryStreaming>;
  setRepositoryStreaming(repository: string, convertPushedImages: boolean): Promise<RepositoryStreaming>;
  /** Manifests of a repository, newest first by default, a page at a time. */
  listManifests(
    repository: string,
    options?: { pageSize?: number; orderBy?: 'timedesc' | 'timeasc' },
  ): AsyncGenerator<ManifestAttributes[]>;
  /** Every repository of the registry, in the catalog's order. */
  listRepositories(options?: { pageSize?: number }): Promise<string[]>;
}
