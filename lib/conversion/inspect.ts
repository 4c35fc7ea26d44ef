import type { ImageFacts } from '../policy/eligibility.js';
import {
  isIndexMediaType,
  type FetchedManifest,
  type ManifestAttributes,
  type RegistryDataPlane,
} from '../core/acr.js';

const imageConfigTypes = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);
const helmConfigType = 'application/vnd.cncf.helm.config.v1+json';
/**
 * What a manifest is, from the manifest itself (the event does not say whether it is a referrer) and ACR's
 * attributes (platform and size without downloading the config blob).
 */
export function inspectManifest(
  repository: string,
  manifest: FetchedManifest,
  attributes: ManifestAttributes | undefined,
  tags: readonly string[],
): ImageFacts {
  const { document } = manifest;
  const base = { repository, tags };
  // A subject or an artifactType marks an OCI 1.1 referrer: streaming artifacts, signatures, SBOMs.
  if (document.subject !== undefined || document.artifactType !== undefined)
    return { ...base, kind: 'referrer', platforms: [], sizeBytes: undefined };
  if (isIndexMediaType(manifest.mediaType) || document.manifests !== undefined) {
    const platforms = (document.manifests ?? []).flatMap((child) =>
      child.platform ? [{ os: child.platform.os, architecture: child.platform.architecture }] : [],
    );
    return { ...base, kind: 'index', platforms, sizeBytes: attributes?.imageSize };
  }
  const configType = document.config?.mediaType;
  if (configType === helmConfigType) return { ...base, kind: 'helm-chart', platforms: [], sizeBytes: undefined };
  if (configType !== undefined && !imageConfigTypes.has(configType))
    return { ...base, kind: 'artifact', platforms: [], sizeBytes: undefined };
  const declaredSize =
    (document.config?.size ?? 0) + (document.layers ?? []).reduce((sum, layer) => sum + layer.size, 0);
  const platforms =
    attributes?.os && attributes.architecture ? [{ os: attributes.os, architecture: attributes.architecture }] : [];
  return { ...base, kind: 'image', platforms, sizeBytes: Math.max(declaredSize, attributes?.imageSize ?? 0) };
}

/**
 * The image a tag or digest names, with what the push path would decide it on (the manifest and ACR's attributes), or
 * undefined when the registry does not hold it.
 */
export async function readImage(
  acr: Pick<RegistryDataPlane, 'getManifest' | 'getManifestAttributes'>,
  repository: string,
  reference: string,
): Promise<{ digest: string; facts: ImageFacts } | undefined> {
  const manifest = await acr.getManifest(repository, reference);
  if (manifest === undefined) return undefined;
  const attributes = await acr.getManifestAttributes(repository, manifest.digest);
  return { digest: manifest.digest, facts: inspectManifest(repository, manifest, attributes, attributes?.tags ?? []) };
}
