import { AcrError } from '../core/errors.js';
import { RegistryTokenProvider, type RegistryCredentials } from './auth.js';
import { assertDigest, assertRepository, isDigest, isTag } from '../core/names.js';
import {
  RegistryTransport,
  responseError,
  type RawRequest,
  type RawResponse,
  type TransportOptions,
} from './transport.js';
import {
  catalogResponse,
  manifestAttributesResponse,
  manifestDocument,
  manifestListResponse,
  manifestMediaTypes,
  referrersIndex,
  repositoryStreaming,
  streamingOperation,
  streamingOperationRef,
  tagResponse,
  type Descriptor,
  type ManifestAttributes,
  type RepositoryStreaming,
  type StreamingOperation,
  type StreamingOperationRef,
  type FetchedManifest,
  type RegistryDataPlane,
} from '../core/acr.js';
import type { z } from 'zod';

export interface RegistryClientOptions extends Omit<TransportOptions, 'baseUrl'> {
  /** `myreg.azurecr.io` or `host:port`; also the token `service`. */
  readonly loginServer: string;
  readonly credentials: RegistryCredentials;
  readonly now?: () => number;
}

type Action = 'pull' | 'push' | 'metadata_read';

/**
 * ACR's data plane as this app uses it: manifests, tags, referrers and the artifact-streaming endpoints, with
 * the exact paths and bodies of docs/sources.md (§ ACR artifact streaming API, § ACR referrers API) and the recorded
 * transcript in test/fixtures/reference. Every call asks for the narrowest scope it
 * needs (`pull` to read, `pull,push` to convert or cancel). Errors are {@link AcrError}s.
 *
 * Written by hand because @azure/container-registry has no streaming or referrers calls and its challenge handler
 * caches a single token across scopes (docs/sources.md § Challenge auth reuse).
 */
export class RegistryClient implements RegistryDataPlane {
  readonly loginServer: string;
  private readonly transport: RegistryTransport;
  private readonly tokens: RegistryTokenProvider;

  constructor(options: RegistryClientOptions) {
    this.loginServer = options.loginServer;
    this.transport = new RegistryTransport({ ...options, baseUrl: `https://${options.loginServer}` });
    this.tokens = new RegistryTokenProvider(options.loginServer, options.credentials, this.transport, options.now);
  }

  /** The manifest as stored (no conversion between media types), or undefined when the registry has none. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest | undefined> {
    const ref = isDigest(reference) ? reference : checkedTag(reference);
    const request = this.request('GET', `/v2/${assertRepository(repository)}/manifests/${ref}`, {
      accept: manifestMediaTypes.join(', '),
    });
    const response = await this.send(request, repository, ['pull']);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw responseError(request, response, 'could not read the manifest');
    const document = parse(manifestDocument, response, request);
    return {
      digest: response.headers.get('docker-content-digest') ?? reference,
      mediaType: document.mediaType ?? response.headers.get('content-type')?.split(';')[0] ?? 'unknown',
      document,
    };
  }

  /** ACR's attributes of a manifest (size, platform, tags, children of an index). */
  async getManifestAttributes(repository: string, digest: string): Promise<ManifestAttributes | undefined> {
    const request = this.request('GET', `/acr/v1/${assertRepository(repository)}/_manifests/${assertDigest(digest)}`);
    const response = await this.send(request, repository, ['metadata_read']);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw responseError(request, response, 'could not read manifest attributes');
    return parse(manifestAttributesResponse, response, request).manifest;
  }

  /** The digest a tag points at, or undefined when the tag does not exist. */
  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    const request = this.request('GET', `/acr/v1/${assertRepository(repository)}/_tags/${checkedTag(tag)}`);
    const response = await this.send(request, repository, ['metadata_read']);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw responseError(request, response, 'could not resolve the tag');
    return parse(tagResponse, response, request).tag.digest;
  }

  /** Referrers of a manifest (OCI 1.1 referrers API), following `Link` pages. */
  async listReferrers(
    repository: string,
    digest: string,
    artifactType?: string,
    options: { readonly notAfter?: Date } = {},
  ): Promise<Descriptor[]> {
    const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    let path: string | undefined = `/v2/${assertRepository(repository)}/referrers/${assertDigest(digest)}${query}`;
    const referrers: Descriptor[] = [];
    while (path !== undefined) {
      const request: RawRequest = {
        ...this.request('GET', path, { accept: 'application/vnd.oci.image.index.v1+json' }),
        ...notAfterOf(options),
      };
      const response = await this.send(request, repository, ['pull']);
      if (response.status !== 200) throw responseError(request, response, 'could not list referrers');
      const page = parse(referrersIndex, response, request).manifests;
      // A registry that ignored the filter says so by omitting OCI-Filters-Applied; filter ourselves then.
      const filtered =
        artifactType && response.headers.get('oci-filters-applied') !== 'artifactType'
          ? page.filter((d) => d.artifactType === artifactType)
          : page;
      referrers.push(...filtered);
      path = nextLink(response);
    }
    return referrers;
  }

  /** The last streaming conversion requested for a digest, or undefined (ACR: 404 OPERATION_UNKNOWN). */
  async getStreamingOperation(
    repository: string,
    digest: string,
    options: { readonly notAfter?: Date } = {},
  ): Promise<StreamingOperationRef | undefined> {
    const request: RawRequest = {
      ...this.request('GET', `/acr/v1/${assertRepository(repository)}/_streaming/${assertDigest(digest)}`),
      ...notAfterOf(options),
    };
    const response = await this.send(request, repository, ['pull']);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw responseError(request, response, 'could not read the streaming operation');
    return parse(streamingOperationRef, response, request);
  }

  /** Requests a streaming artifact for one image; 202 with the new operation's id. Not retried on faults. */
  async startStreamingConversion(
    repository: string,
    digest: string,
    options: { readonly notAfter?: Date } = {},
  ): Promise<StreamingOperationRef> {
    const request: RawRequest = {
      ...this.request('POST', `/acr/v1/${assertRepository(repository)}/_streaming/${assertDigest(digest)}`),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ conversionFormat: 'overlaybd', conversionVersion: 'v1' }),
      idempotent: false,
      ...notAfterOf(options),
    };
    const response = await this.send(request, repository, ['pull', 'push']);
    // Any 2xx is a start (the transcript shows 202); a 409 (a conversion already in progress) is the caller's to
    // resolve by adopting the running operation.
    if (response.status < 200 || response.status > 299)
      throw responseError(request, response, 'could not start the conversion');
    const body = (response.bodyText.trim() === '' ? {} : jsonOf(response, request)) as {
      id?: unknown;
      status?: unknown;
    } | null;
    const id = typeof body?.id === 'string' && body.id !== '' ? body.id : response.headers.get('operation-id');
    if (id === undefined) throw responseError(request, response, 'the conversion started without an operation id');
    return validated(streamingOperationRef, { id, status: body?.status ?? 'NotStarted' }, response, request);
  }

  async getOperation(repository: string, operationId: string): Promise<StreamingOperation | undefined> {
    const request = this.request(
      'GET',
      `/acr/v1/${assertRepository(repository)}/_operations/${encodeURIComponent(operationId)}`,
    );
    const response = await this.send(request, repository, ['pull']);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw responseError(request, response, 'could not read the operation');
    return parse(streamingOperation, response, request);
  }

  async cancelOperation(repository: string, operationId: string): Promise<StreamingOperation> {
    const request: RawRequest = {
      ...this.request(
        'POST',
        `/acr/v1/${assertRepository(repository)}/_operations/${encodeURIComponent(operationId)}:cancel`,
      ),
      headers: { 'content-length': '0' },
    };
    const response = await this.send(request, repository, ['pull', 'push']);
    if (response.status !== 200 && response.status !== 202)
      throw responseError(request, response, 'could not cancel the operation');
    return parse(streamingOperation, response, request);
  }

  /** The repository's own "convert new pushes" switch. */
  async getRepositoryStreaming(repository: string): Promise<RepositoryStreaming> {
    const request = this.request('GET', `/acr/v1/${assertRepository(repository)}/_streaming`);
    const response = await this.send(request, repository, ['pull']);
    if (response.status !== 200)
      throw responseError(request, response, 'could not read the repository streaming setting');
    return parse(repositoryStreaming, response, request);
  }

  async setRepositoryStreaming(repository: string, convertPushedImages: boolean): Promise<RepositoryStreaming> {
    const request: RawRequest = {
      ...this.request('POST', `/acr/v1/${assertRepository(repository)}/_streaming`),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ convertPushedImages, conversionFormat: 'overlaybd', conversionVersion: 'v1' }),
    };
    const response = await this.send(request, repository, ['pull', 'push']);
    if (response.status !== 202 && response.status !== 200)
      throw responseError(request, response, 'could not change the repository streaming setting');
    return parse(repositoryStreaming, response, request);
  }

  /** Manifests of a repository, newest first by default, one page at a time (memory stays flat). */
  async *listManifests(
    repository: string,
    options: { pageSize?: number; orderBy?: 'timedesc' | 'timeasc' } = {},
  ): AsyncGenerator<ManifestAttributes[]> {
    let path: string | undefined =
      `/acr/v1/${assertRepository(repository)}/_manifests?n=${options.pageSize ?? 100}&orderby=${options.orderBy ?? 'timedesc'}`;
    while (path !== undefined) {
      const request = this.request('GET', path);
      const response = await this.send(request, repository, ['metadata_read']);
      if (response.status !== 200) throw responseError(request, response, 'could not list manifests');
      yield parse(manifestListResponse, response, request).manifests;
      path = nextLink(response);
    }
  }

  /**
   * Every repository of the registry, in the catalog's (lexical) order, following `Link` pages. Needs the
   * `registry:catalog:*` scope: an identity needs a role that lists the catalog (Reader, or "Container Registry
   * Repository Catalog Lister" on ABAC-enabled registries).
   */
  async listRepositories(options: { pageSize?: number } = {}): Promise<string[]> {
    let path: string | undefined = `/acr/v1/_catalog?n=${options.pageSize ?? 100}`;
    const repositories: string[] = [];
    while (path !== undefined) {
      const request = this.request('GET', path);
      const response = await this.sendWithScope(request, 'registry:catalog:*');
      if (response.status !== 200) throw responseError(request, response, 'could not list repositories');
      repositories.push(...parse(catalogResponse, response, request).repositories);
      path = nextLink(response);
    }
    return repositories;
  }

  private request(method: RawRequest['method'], path: string, options: { accept?: string } = {}): RawRequest {
    return {
      method,
      path,
      idempotent: method === 'GET' || method === 'HEAD',
      ...(options.accept ? { headers: { accept: options.accept } } : {}),
    };
  }

  /** Sends with an access token for `repository:{repo}:{actions}`; a 401 refreshes the token once. */
  private send(request: RawRequest, repository: string, actions: readonly Action[]): Promise<RawResponse> {
    return this.sendWithScope(request, `repository:${repository}:${actions.join(',')}`);
  }

  /** Sends with an access token for any scope (`registry:catalog:*` for the catalog). */
  private async sendWithScope(request: RawRequest, scope: string): Promise<RawResponse> {
    // A token fetched while the registry is throttled waits too: not for a request that could not be sent anyway.
    await this.transport.refuseIfThrottledPastLimit(request);
    for (let attempt = 0; ; attempt++) {
      const token = await this.tokens.accessToken(scope);
      const response = await this.transport.send({
        ...request,
        headers: { ...request.headers, authorization: `Bearer ${token}` },
      });
      if (response.status !== 401 || attempt > 0) return response;
      this.tokens.invalidate(scope);
    }
  }
}

function checkedTag(tag: string): string {
  if (!isTag(tag)) throw new Error(`"${tag.slice(0, 200)}" is not a valid tag`);
  return tag;
}

function parse<T>(schema: z.ZodType<T>, response: RawResponse, request: RawRequest): T {
  return validated(schema, jsonOf(response, request), response, request);
}

/** ACR's body as JSON; a body that is not JSON (a proxy's page, a cut answer) is an INVALID_RESPONSE AcrError. */
function jsonOf(response: RawResponse, request: RawRequest): unknown {
  try {
    return JSON.parse(response.bodyText) as unknown;
  } catch {
    throw new AcrError(`${request.method} ${request.path} answered ${response.status} with a body that is not JSON`, {
      status: response.status,
      code: 'INVALID_RESPONSE',
      correlationId: response.headers.get('x-ms-correlation-request-id'),
      method: request.method,
      path: request.path,
    });
  }
}

function validated<T>(schema: z.ZodType<T>, json: unknown, response: RawResponse, request: RawRequest): T {
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new AcrError(
      `${request.method} ${request.path} answered an unexpected shape: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      {
        status: response.status,
        code: 'INVALID_RESPONSE',
        correlationId: response.headers.get('x-ms-correlation-request-id'),
        method: request.method,
        path: request.path,
      },
    );
  }
  return result.data;
}

/** `Link: </acr/v1/…?last=x&n=100>; rel="next"` → the path to fetch next. */
function nextLink(response: RawResponse): string | undefined {
  const link = response.headers.get('link');
  const match = link === undefined ? null : /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  if (!match) return undefined;
  const target = match[1]!;
  return target.startsWith('http') ? `${new URL(target).pathname}${new URL(target).search}` : target;
}

/** A call made under a lease: no retry (nor a wait for Retry-After) may start after `notAfter`. */
function notAfterOf(options: { readonly notAfter?: Date }): { notAfter?: number } {
  return options.notAfter ? { notAfter: options.notAfter.getTime() } : {};
}
