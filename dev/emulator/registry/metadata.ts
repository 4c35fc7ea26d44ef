import { z } from 'zod';
import type { EmulatorRequest, EmulatorResponse } from '../contract.js';
import { errors } from './errors.js';
import { catalogScope, linkHeader, page, repositoryScope, type RegistryRoute, type RegistryRouter } from './route.js';
import type { ChangeableAttributes, ManifestRecord, Repository, TagRecord } from './store.js';

/**
 * ACR metadata API (`/acr/v1/…`) in the shapes @azure/container-registry 1.1.2 maps
 * (docs/sources.md § ACR metadata API).
 * Streaming paths (`_streaming`, `_operations`) are the streaming module's and must be routed first.
 */

const ROUTES = {
  tag: /^\/acr\/v1\/(.+)\/_tags\/([^/]+)$/,
  tags: /^\/acr\/v1\/(.+)\/_tags$/,
  manifest: /^\/acr\/v1\/(.+)\/_manifests\/([^/]+)$/,
  manifests: /^\/acr\/v1\/(.+)\/_manifests$/,
  // Repository name components start with [a-z0-9], so a trailing `/_something` is never part of a name.
  repository: /^\/acr\/v1\/((?:[a-z0-9][^/]*)(?:\/[a-z0-9][^/]*)*)$/,
};

const changeableSchema = z
  .object({
    deleteEnabled: z.boolean().optional(),
    writeEnabled: z.boolean().optional(),
    readEnabled: z.boolean().optional(),
    listEnabled: z.boolean().optional(),
  })
  .strip();

/** ACR prints 7 fractional digits (`2018-09-06T06:17:20.9983915Z`). */
export function acrTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

function changeableJson(c: ChangeableAttributes): ChangeableAttributes {
  return {
    deleteEnabled: c.deleteEnabled,
    writeEnabled: c.writeEnabled,
    readEnabled: c.readEnabled,
    listEnabled: c.listEnabled,
  };
}

function patchChangeable(current: ChangeableAttributes, body: Buffer): ChangeableAttributes {
  let json: unknown;
  try {
    json = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw errors.manifestInvalid('body is not JSON');
  }
  const parsed = changeableSchema.safeParse(json);
  if (!parsed.success) throw errors.manifestInvalid(parsed.error.message);
  const next = { ...current };
  for (const [key, value] of Object.entries(parsed.data))
    if (value !== undefined) next[key as keyof ChangeableAttributes] = value;
  return next;
}

/** Tag names by digest, built once per listing rather than once per manifest listed. */
function tagsByDigest(repo: Repository): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const tag of repo.tags.values()) index.set(tag.digest, [...(index.get(tag.digest) ?? []), tag.name]);
  return index;
}

export function manifestJson(
  repo: Repository,
  m: ManifestRecord,
  tagIndex: ReadonlyMap<string, readonly string[]> = tagsByDigest(repo),
): Record<string, unknown> {
  const tags = [...(tagIndex.get(m.digest) ?? [])].sort();
  return {
    digest: m.digest,
    imageSize: m.imageSize,
    createdTime: acrTime(m.createdTime),
    lastUpdateTime: acrTime(m.lastUpdateTime),
    ...(m.architecture === undefined ? {} : { architecture: m.architecture }),
    ...(m.os === undefined ? {} : { os: m.os }),
    ...(m.references === undefined
      ? {}
      : {
          references: m.references.map((r) => ({
            digest: r.digest,
            ...(r.architecture ? { architecture: r.architecture } : {}),
            ...(r.os ? { os: r.os } : {}),
          })),
        }),
    mediaType: m.mediaType,
    ...(m.configMediaType === undefined ? {} : { configMediaType: m.configMediaType }),
    ...(tags.length > 0 ? { tags } : {}),
    changeableAttributes: changeableJson(m.changeable),
  };
}

function tagJson(t: TagRecord): Record<string, unknown> {
  return {
    name: t.name,
    digest: t.digest,
    createdTime: acrTime(t.createdTime),
    lastUpdateTime: acrTime(t.lastUpdateTime),
    signed: false,
    changeableAttributes: changeableJson(t.changeable),
  };
}

function ordered<T extends { lastUpdateTime: Date }>(
  items: T[],
  key: (item: T) => string,
  orderby: string | null,
): T[] {
  // Code-point order for names and for ties in time: localeCompare on every tie made large listings crawl.
  const byKey = (a: T, b: T): number => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  if (orderby === 'timedesc')
    return items.sort((a, b) => b.lastUpdateTime.getTime() - a.lastUpdateTime.getTime() || byKey(a, b));
  if (orderby === 'timeasc')
    return items.sort((a, b) => a.lastUpdateTime.getTime() - b.lastUpdateTime.getTime() || byKey(a, b));
  return items.sort(byKey);
}

const route = (requirement: RegistryRoute['requirement'], handle: RegistryRoute['handle']): RegistryRoute => ({
  requirement,
  handle,
});

export const metadataRouter: RegistryRouter = (runtime, request) => {
  const { method, path } = request;
  const { store } = runtime;
  const registry = runtime.definition.loginServer;
  if (path === '/acr/v1/_catalog' && method === 'GET') {
    return route(catalogScope, () => {
      const { items, next } = page([...store.repositories.keys()].sort(), (n) => n, request.query);
      return withLink({ status: 200, body: { repositories: items } }, '/acr/v1/_catalog', request, next);
    });
  }

  let m = ROUTES.tag.exec(path);
  if (m) {
    const name = m[1] ?? '';
    const tagName = m[2] ?? '';
    const tag = (): TagRecord => {
      const t = store.requireRepository(name).tags.get(tagName);
      if (!t) throw errors.manifestUnknown(tagName);
      return t;
    };
    if (method === 'GET')
      return route(repositoryScope(name, ['metadata_read']), () => ({
        status: 200,
        body: { registry, imageName: name, tag: tagJson(tag()) },
      }));
    if (method === 'PATCH') {
      return route(repositoryScope(name, ['metadata_write']), () => {
        const t = tag();
        t.changeable = patchChangeable(t.changeable, request.body);
        return { status: 200, body: { registry, imageName: name, tag: tagJson(t) } };
      });
    }
    if (method === 'DELETE') {
      return route(repositoryScope(name, ['delete']), () => {
        const t = tag();
        if (!t.changeable.deleteEnabled)
          throw errors.denied('The operation is disallowed on this tag because it is delete-locked.');
        store.requireRepository(name).tags.delete(tagName);
        return { status: 202 };
      });
    }
    return undefined;
  }
  m = ROUTES.tags.exec(path);
  if (m && method === 'GET') {
    const name = m[1] ?? '';
    return route(repositoryScope(name, ['metadata_read']), () => {
      const repo = store.requireRepository(name);
      const digest = request.query.get('digest');
      const all = ordered(
        [...repo.tags.values()].filter((t) => digest === null || t.digest === digest),
        (t) => t.name,
        request.query.get('orderby'),
      );
      const { items, next } = page(all, (t) => t.name, request.query);
      return withLink(
        { status: 200, body: { registry, imageName: name, tags: items.map(tagJson) } },
        `/acr/v1/${name}/_tags`,
        request,
        next,
      );
    });
  }
  m = ROUTES.manifest.exec(path);
  if (m) {
    const name = m[1] ?? '';
    const reference = m[2] ?? '';
    const body = (manifest: ManifestRecord): EmulatorResponse => ({
      status: 200,
      body: { registry, imageName: name, manifest: manifestJson(store.requireRepository(name), manifest) },
    });
    if (method === 'GET')
      return route(repositoryScope(name, ['metadata_read']), () => body(store.resolveForRead(name, reference)));
    if (method === 'PATCH') {
      return route(repositoryScope(name, ['metadata_write']), () => {
        const manifest = store.resolve(name, reference);
        manifest.changeable = patchChangeable(manifest.changeable, request.body);
        return body(manifest);
      });
    }
    if (method === 'DELETE') {
      return route(repositoryScope(name, ['delete']), () => {
        store.deleteManifest(name, reference, { userAgent: request.headers['user-agent'] });
        return { status: 202 };
      });
    }
    return undefined;
  }
  m = ROUTES.manifests.exec(path);
  if (m && method === 'GET') {
    const name = m[1] ?? '';
    return route(repositoryScope(name, ['metadata_read']), () => {
      const repo = store.requireRepository(name);
      const all = ordered([...repo.manifests.values()], (x) => x.digest, request.query.get('orderby'));
      const { items, next } = page(all, (x) => x.digest, request.query);
      const tagIndex = tagsByDigest(repo);
      return withLink(
        {
          status: 200,
          body: { registry, imageName: name, manifests: items.map((x) => manifestJson(repo, x, tagIndex)) },
        },
        `/acr/v1/${name}/_manifests`,
        request,
        next,
      );
    });
  }
  m = ROUTES.repository.exec(path);
  if (m) {
    const name = m[1] ?? '';
    const body = (repo: Repository): EmulatorResponse => ({
      status: 200,
      body: {
        registry,
        imageName: name,
        createdTime: acrTime(repo.createdTime),
        lastUpdateTime: acrTime(repo.lastUpdateTime),
        manifestCount: repo.manifests.size,
        tagCount: repo.tags.size,
        changeableAttributes: changeableJson(repo.changeable),
      },
    });
    if (method === 'GET')
      return route(repositoryScope(name, ['metadata_read']), () => body(store.requireRepository(name)));
    if (method === 'PATCH') {
      return route(repositoryScope(name, ['metadata_write']), () => {
        const repo = store.requireRepository(name);
        repo.changeable = patchChangeable(repo.changeable, request.body);
        return body(repo);
      });
    }
    if (method === 'DELETE') {
      return route(repositoryScope(name, ['delete']), () => ({
        status: 202,
        body: store.deleteRepository(name, { userAgent: request.headers['user-agent'] }),
      }));
    }
  }
  return undefined;
};

function withLink(
  response: EmulatorResponse,
  path: string,
  request: EmulatorRequest,
  next: { last: string; n: number } | undefined,
): EmulatorResponse {
  return next
    ? { ...response, headers: { ...response.headers, link: linkHeader(path, request.query, next) } }
    : response;
}
