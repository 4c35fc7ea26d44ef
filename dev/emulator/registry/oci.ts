import { randomUUID } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../contract.js';
import type { RegistryRuntime } from '../state.js';
import { errors } from './errors.js';
import { DIGEST_PATTERN } from './manifest.js';
import { MediaType } from './media-types.js';
import { catalogScope, linkHeader, page, repositoryScope, type RegistryRoute, type RegistryRouter } from './route.js';
import { isDigest, type ManifestRecord } from './store.js';

/**
 * OCI distribution API (what skopeo/containerd/oras speak). Repository names contain `/`, so paths are
 * matched by their fixed suffix (`/manifests/{ref}`, `/blobs/uploads/…`) and the name is whatever precedes it.
 */

const ROUTES = {
  tags: /^\/v2\/(.+)\/tags\/list$/,
  manifest: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
  uploadStart: /^\/v2\/(.+)\/blobs\/uploads\/?$/,
  upload: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
  blob: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
  referrers: /^\/v2\/(.+)\/referrers\/([^/]+)$/,
};

const route = (requirement: RegistryRoute['requirement'], handle: RegistryRoute['handle']): RegistryRoute => ({
  requirement,
  handle,
});

export const ociRouter: RegistryRouter = (runtime, request) => {
  const { method, path } = request;
  if (path === '/v2/' || path === '/v2') {
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    return route({ kind: 'authenticated' }, () => ({
      status: 200,
      headers: { 'docker-distribution-api-version': 'registry/2.0' },
      body: {},
    }));
  }
  if (path === '/v2/_catalog' && method === 'GET') return route(catalogScope, () => catalog(runtime, request));

  let m = ROUTES.tags.exec(path);
  if (m && method === 'GET') {
    const name = m[1] ?? '';
    return route(repositoryScope(name, ['pull'], true), () => tagsList(runtime, request, name));
  }
  m = ROUTES.manifest.exec(path);
  if (m) {
    const name = m[1] ?? '';
    const reference = m[2] ?? '';
    switch (method) {
      case 'GET':
        return route(repositoryScope(name, ['pull'], true), () =>
          manifestResponse(runtime.store.resolveForRead(name, reference)),
        );
      case 'HEAD':
        return route(repositoryScope(name, ['pull'], true), () =>
          manifestResponse(runtime.store.resolve(name, reference)),
        );
      case 'PUT':
        return route(repositoryScope(name, ['push']), () => putManifest(runtime, request, name, reference));
      case 'DELETE':
        return route(repositoryScope(name, ['delete']), () => {
          runtime.store.deleteManifest(name, reference, { userAgent: request.headers['user-agent'] });
          return { status: 202 };
        });
      default:
        return undefined;
    }
  }
  m = ROUTES.uploadStart.exec(path);
  if (m && method === 'POST') {
    const name = m[1] ?? '';
    return route(repositoryScope(name, ['pull', 'push']), () => startUpload(runtime, request, name));
  }
  m = ROUTES.upload.exec(path);
  if (m) {
    const name = m[1] ?? '';
    const uuid = m[2] ?? '';
    const push = repositoryScope(name, ['pull', 'push']);
    switch (method) {
      case 'GET':
        return route(push, () => uploadStatus(runtime, name, uuid, 204));
      case 'PATCH':
        return route(push, () => patchUpload(runtime, request, name, uuid));
      case 'PUT':
        return route(push, () => finishUpload(runtime, request, name, uuid));
      case 'DELETE':
        return route(push, () => {
          runtime.store.cancelUpload(name, uuid);
          return { status: 204 };
        });
      default:
        return undefined;
    }
  }
  m = ROUTES.blob.exec(path);
  if (m && (method === 'GET' || method === 'HEAD')) {
    const name = m[1] ?? '';
    const digest = m[2] ?? '';
    return route(repositoryScope(name, ['pull'], true), () => blobResponse(runtime, name, digest, method === 'HEAD'));
  }
  m = ROUTES.referrers.exec(path);
  if (m && method === 'GET') {
    const name = m[1] ?? '';
    const digest = m[2] ?? '';
    return route(repositoryScope(name, ['pull'], true), () => referrers(runtime, request, name, digest));
  }
  return undefined;
};

function catalog(runtime: RegistryRuntime, request: EmulatorRequest): EmulatorResponse {
  const names = [...runtime.store.repositories.keys()].sort();
  const { items, next } = page(names, (n) => n, request.query);
  return {
    status: 200,
    headers: next ? { link: linkHeader('/v2/_catalog', request.query, next) } : {},
    body: { repositories: items },
  };
}

function tagsList(runtime: RegistryRuntime, request: EmulatorRequest, name: string): EmulatorResponse {
  const repo = runtime.store.requireRepository(name);
  const { items, next } = page([...repo.tags.keys()].sort(), (t) => t, request.query);
  return {
    status: 200,
    headers: next ? { link: linkHeader(`/v2/${name}/tags/list`, request.query, next) } : {},
    body: { name, tags: items },
  };
}

function manifestResponse(manifest: ManifestRecord): EmulatorResponse {
  return {
    status: 200,
    headers: {
      'content-type': manifest.mediaType,
      'docker-content-digest': manifest.digest,
      etag: `"${manifest.digest}"`,
    },
    body: manifest.bytes,
  };
}

function putManifest(
  runtime: RegistryRuntime,
  request: EmulatorRequest,
  name: string,
  reference: string,
): EmulatorResponse {
  const manifest = runtime.store.putManifest(name, reference, request.body, request.headers['content-type'], {
    userAgent: request.headers['user-agent'],
  });
  const headers: Record<string, string> = {
    location: `/v2/${name}/manifests/${manifest.digest}`,
    'docker-content-digest': manifest.digest,
  };
  // OCI 1.1: tells the client the registry indexed the subject, so it need not maintain a referrers tag.
  if (manifest.subject !== undefined) headers['oci-subject'] = manifest.subject;
  return { status: 201, headers };
}

function blobCreated(name: string, digest: string): EmulatorResponse {
  return { status: 201, headers: { location: `/v2/${name}/blobs/${digest}`, 'docker-content-digest': digest } };
}

function startUpload(runtime: RegistryRuntime, request: EmulatorRequest, name: string): EmulatorResponse {
  const mount = request.query.get('mount');
  const from = request.query.get('from');
  if (mount !== null && from !== null && runtime.store.mountBlob(name, mount, from)) return blobCreated(name, mount);
  const digest = request.query.get('digest');
  if (digest !== null) {
    // Monolithic upload in a single POST.
    return blobCreated(name, runtime.store.putBlob(name, request.body, digest).digest);
  }
  const uuid = randomUUID();
  runtime.store.startUpload(name, uuid);
  if (request.body.length > 0) runtime.store.appendUpload(name, uuid, request.body);
  // A failed mount falls back to a regular upload session (distribution-spec), hence 202 here too.
  return uploadStatus(runtime, name, uuid, 202);
}

function uploadStatus(runtime: RegistryRuntime, name: string, uuid: string, status: number): EmulatorResponse {
  const size = runtime.store.uploadSize(name, uuid);
  return {
    status,
    headers: {
      location: `/v2/${name}/blobs/uploads/${uuid}`,
      range: `0-${Math.max(0, size - 1)}`,
      'docker-upload-uuid': uuid,
    },
  };
}

function patchUpload(runtime: RegistryRuntime, request: EmulatorRequest, name: string, uuid: string): EmulatorResponse {
  const range = request.headers['content-range'];
  const start =
    range === undefined ? undefined : Number.parseInt(range.replace(/^bytes[ =]/, '').split('-')[0] ?? '', 10);
  runtime.store.appendUpload(
    name,
    uuid,
    request.body,
    start !== undefined && Number.isFinite(start) ? start : undefined,
  );
  return uploadStatus(runtime, name, uuid, 202);
}

function finishUpload(
  runtime: RegistryRuntime,
  request: EmulatorRequest,
  name: string,
  uuid: string,
): EmulatorResponse {
  const digest = request.query.get('digest');
  if (digest === null) throw errors.digestInvalid('digest query parameter is required');
  return blobCreated(name, runtime.store.completeUpload(name, uuid, digest, request.body).digest);
}

function blobResponse(runtime: RegistryRuntime, name: string, digest: string, head: boolean): EmulatorResponse {
  if (!DIGEST_PATTERN.test(digest)) throw errors.digestInvalid(`invalid digest ${digest}`);
  const blob = runtime.store.getBlob(name, digest);
  const headers = {
    'content-type': 'application/octet-stream',
    'docker-content-digest': digest,
    'content-length': String(blob.size),
  };
  if (head) return { status: 200, headers };
  // Declared-size blobs (simulated >30 GB layers) have no bytes to serve.
  if (!blob.bytes) throw errors.blobUnknown(digest);
  return { status: 200, headers, body: blob.bytes };
}

function referrers(runtime: RegistryRuntime, request: EmulatorRequest, name: string, digest: string): EmulatorResponse {
  if (!isDigest(digest)) throw errors.digestInvalid(`invalid digest ${digest}`);
  const artifactType = request.query.get('artifactType');
  const manifests = runtime.store
    .referrers(name, digest)
    .map((m) => ({
      mediaType: m.mediaType,
      size: m.bytes.length,
      digest: m.digest,
      artifactType: m.artifactType ?? m.configMediaType,
      ...(m.parsed.annotations ? { annotations: m.parsed.annotations } : {}),
    }))
    .filter((d) => artifactType === null || d.artifactType === artifactType);
  const headers: Record<string, string> = { 'content-type': MediaType.ociIndex };
  if (artifactType !== null) headers['oci-filters-applied'] = 'artifactType';
  // Always 200 with an index, even for unknown subjects or repositories (distribution-spec "Listing Referrers").
  return {
    status: 200,
    headers,
    body: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests })),
  };
}
