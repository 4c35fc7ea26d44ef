import { isIndexMediaType, streamingArtifactType, type Descriptor, type RegistryDataPlane } from '../core/acr.js';

export interface StreamingArtifactLookup {
  /** The image's media type when known: only an index (or an unknown type) is looked into. */
  readonly mediaType?: string;
  /** An index's linux/amd64 children when already known (ACR's `references`), saving the manifest read. */
  readonly children?: readonly string[];
  readonly notAfter?: Date;
}

/**
 * The streaming artifacts that make an image streamable. For a multi-arch index ACR converts only its linux/amd64
 * image (docs/sources.md § Artifact streaming limitations and troubleshooting), and whether it attaches the artifact
 * to the index or to that child is not documented (docs/assumptions.md A8): the index's own referrers are read
 * first, then, when it has none, each linux/amd64 child's. Either placement counts as converted.
 */
export async function streamingArtifactsOf(
  registry: Pick<RegistryDataPlane, 'listReferrers' | 'getManifest'>,
  repository: string,
  digest: string,
  lookup: StreamingArtifactLookup = {},
): Promise<Descriptor[]> {
  const options = lookup.notAfter === undefined ? {} : { notAfter: lookup.notAfter };
  const own = await registry.listReferrers(repository, digest, streamingArtifactType, options);
  if (own.length > 0 || (lookup.mediaType !== undefined && !isIndexMediaType(lookup.mediaType))) return own;
  const children = lookup.children ?? (await amd64Children(registry, repository, digest));
  for (const child of children) {
    const found = await registry.listReferrers(repository, child, streamingArtifactType, options);
    if (found.length > 0) return found;
  }
  return own;
}

async function amd64Children(
  registry: Pick<RegistryDataPlane, 'getManifest'>,
  repository: string,
  digest: string,
): Promise<string[]> {
  const manifest = await registry.getManifest(repository, digest);
  if (manifest === undefined || !isIndexMediaType(manifest.mediaType)) return [];
  return (manifest.document.manifests ?? [])
    .filter((child) => child.platform?.os === 'linux' && child.platform.architecture === 'amd64')
    .map((child) => child.digest);
}
