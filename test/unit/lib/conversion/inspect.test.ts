import { describe, expect, it } from 'vitest';
import { inspectManifest } from '../../../../lib/conversion/inspect.js';
import {
  type FetchedManifest,
  streamingArtifactType,
  type Descriptor,
  type ManifestAttributes,
  type ManifestDocument,
} from '../../../../lib/core/acr.js';
import { digestOf } from '../../../support/fakes/registry.js';

const oci = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};
const docker = {
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  list: 'application/vnd.docker.distribution.manifest.list.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
};

function blob(mediaType: string, size: number, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: digestOf(`${mediaType}-${size}`), size, ...extra };
}

function fetched(mediaType: string, document: ManifestDocument): FetchedManifest {
  return { digest: digestOf('subject'), mediaType, document: { schemaVersion: 2, ...document } };
}

function attributes(overrides: Partial<ManifestAttributes> = {}): ManifestAttributes {
  return { digest: digestOf('subject'), os: 'linux', architecture: 'amd64', ...overrides };
}

const image = (mediaType: string, configType: string) =>
  fetched(mediaType, {
    mediaType,
    config: blob(configType, 100),
    layers: [blob(oci.layer, 1_000), blob(oci.layer, 2_000)],
  });

describe('inspectManifest', () => {
  it('sees a Docker v2 image with its platform from the attributes and its size from config plus layers', () => {
    const facts = inspectManifest('team-a/app', image(docker.manifest, docker.config), attributes(), ['1.0']);

    expect(facts).toEqual({
      repository: 'team-a/app',
      tags: ['1.0'],
      kind: 'image',
      platforms: [{ os: 'linux', architecture: 'amd64' }],
      sizeBytes: 3_100,
    });
  });

  it('sees an OCI image', () => {
    expect(
      inspectManifest('app', image(oci.manifest, oci.config), attributes({ architecture: 'arm64' }), []),
    ).toMatchObject({ kind: 'image', platforms: [{ os: 'linux', architecture: 'arm64' }] });
  });

  it('takes the larger of the declared layers and the attributes imageSize', () => {
    const larger = inspectManifest('app', image(oci.manifest, oci.config), attributes({ imageSize: 50_000 }), []);
    const smaller = inspectManifest('app', image(oci.manifest, oci.config), attributes({ imageSize: 10 }), []);

    expect(larger.sizeBytes).toBe(50_000);
    expect(smaller.sizeBytes).toBe(3_100);
  });

  it('has no platform for an image without attributes', () => {
    expect(inspectManifest('app', image(oci.manifest, oci.config), undefined, [])).toMatchObject({
      kind: 'image',
      platforms: [],
      sizeBytes: 3_100,
    });
  });

  it('sees a referrer by its subject', () => {
    const signature = fetched(oci.manifest, {
      mediaType: oci.manifest,
      config: blob('application/vnd.oci.empty.v1+json', 2),
      layers: [blob('application/vnd.cncf.notary.signature', 500)],
      subject: blob(oci.manifest, 1_234),
    });

    expect(inspectManifest('app', signature, attributes(), ['sig'])).toMatchObject({
      kind: 'referrer',
      platforms: [],
      sizeBytes: undefined,
    });
  });

  it('sees a referrer by its artifactType, such as the streaming artifact itself', () => {
    const streaming = fetched(oci.manifest, {
      mediaType: oci.manifest,
      artifactType: streamingArtifactType,
      config: blob(oci.config, 100),
      layers: [blob(oci.layer, 9_000)],
    });

    expect(inspectManifest('app', streaming, attributes(), [])).toMatchObject({ kind: 'referrer' });
  });

  it('sees a Helm chart', () => {
    const chart = fetched(oci.manifest, {
      mediaType: oci.manifest,
      config: blob('application/vnd.cncf.helm.config.v1+json', 200),
      layers: [blob('application/vnd.cncf.helm.chart.content.v1.tar+gzip', 5_000)],
    });

    expect(inspectManifest('charts/app', chart, undefined, ['1.0.0'])).toMatchObject({
      kind: 'helm-chart',
      platforms: [],
      sizeBytes: undefined,
    });
  });

  it('sees another OCI artifact by its config media type', () => {
    const wasm = fetched(oci.manifest, {
      mediaType: oci.manifest,
      config: blob('application/vnd.wasm.config.v0+json', 100),
      layers: [blob('application/wasm', 5_000)],
    });

    expect(inspectManifest('app', wasm, attributes(), [])).toMatchObject({ kind: 'artifact', platforms: [] });
  });

  it.each([
    ['an OCI index', oci.index],
    ['a Docker manifest list', docker.list],
  ])('lists the platforms of %s, taking the size from the attributes', (_name, mediaType) => {
    const index = fetched(mediaType, {
      mediaType,
      manifests: [
        blob(oci.manifest, 500, { platform: { os: 'linux', architecture: 'amd64' } }),
        blob(oci.manifest, 501, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
        blob(oci.manifest, 502), // an attestation without a platform
      ],
    });

    const facts = inspectManifest(
      'app',
      index,
      attributes({ imageSize: 9_999, os: undefined, architecture: undefined }),
      ['1.0'],
    );

    expect(facts).toEqual({
      repository: 'app',
      tags: ['1.0'],
      kind: 'index',
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
      sizeBytes: 9_999,
    });
  });

  it('recognises an index by its manifests even under an unexpected media type', () => {
    const index = fetched('application/json', {
      manifests: [blob(oci.manifest, 500, { platform: { os: 'windows', architecture: 'amd64' } })],
    });

    expect(inspectManifest('app', index, undefined, [])).toMatchObject({
      kind: 'index',
      platforms: [{ os: 'windows', architecture: 'amd64' }],
      sizeBytes: undefined,
    });
  });
});
