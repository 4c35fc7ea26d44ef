import { describe, expect, it } from 'vitest';
import { AcrError } from '../../../../lib/core/errors.js';
import {
  streamingArtifactType,
  type Descriptor,
  type FetchedManifest,
  type ManifestAttributes,
} from '../../../../lib/core/acr.js';
import type { RegistrySettings } from '../../../../lib/core/registries.js';
import { silentLogger as log } from '../../../../lib/core/logging.js';
import type { ConversionRecord } from '../../../../lib/conversion/record.js';
import type {
  AgentPoolView,
  ClusterView,
  ConsumerSource,
  RegistryNetworkView,
  RoleGrantView,
} from '../../../../lib/consumers/model.js';
import { checkIds, type CheckId, type Diagnosis } from '../../../../lib/diagnosis/model.js';
import {
  diagnose,
  networkCheck,
  type DiagnosisPorts,
  type DiagnosisRegistry,
  type DiagnosisRequest,
} from '../../../../lib/diagnosis/service.js';
import { policySchema, type Policy } from '../../../../lib/policy/model.js';
import type { RegistryReadiness } from '../../../../lib/policy/eligibility.js';
import { digestOf } from '../../../support/fakes/registry.js';

const registryId = '/subscriptions/s1/resourceGroups/acr-rg/providers/Microsoft.ContainerRegistry/registries/contoso';
const settings: RegistrySettings = {
  name: 'contoso',
  loginServer: 'contoso.azurecr.io',
  resourceId: registryId,
  auth: { type: 'identity' },
};
const clusterId = '/subscriptions/s1/resourceGroups/aks-rg/providers/Microsoft.ContainerService/managedClusters/aks1';

interface StoredImage {
  readonly manifest: FetchedManifest;
  readonly attributes: ManifestAttributes;
}

/** A registry in memory: repositories of manifests and tags, referrers by subject; ACR's 404s, as the client does. */
class MemoryRegistry implements DiagnosisRegistry {
  readonly repositories = new Map<string, { images: Map<string, StoredImage>; tags: Map<string, string> }>();
  readonly referrers = new Map<string, Descriptor[]>();
  catalogError: Error | undefined;

  image(
    repository: string,
    options: { tags?: string[]; platform?: string; size?: number; index?: string[]; label?: string } = {},
  ): string {
    const label = options.label ?? `${repository}:${(options.tags ?? []).join(',')}:${options.platform ?? ''}`;
    const digest = digestOf(label);
    const [os = 'linux', architecture = 'amd64'] = (options.platform ?? 'linux/amd64').split('/');
    const manifest: FetchedManifest = options.index
      ? {
          digest,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          document: {
            mediaType: 'application/vnd.oci.image.index.v1+json',
            manifests: options.index.map((platform, index) => {
              const [childOs = 'linux', childArch = 'amd64'] = platform.split('/');
              return {
                mediaType: 'application/vnd.oci.image.manifest.v1+json',
                digest: digestOf(`${label}-child-${index}`),
                size: 500,
                platform: { os: childOs, architecture: childArch },
              };
            }),
          },
        }
      : {
          digest,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          document: {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(`${label}-c`), size: 10 },
            layers: [
              { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(`${label}-l`), size: 90 },
            ],
          },
        };
    const attributes: ManifestAttributes = {
      digest,
      imageSize: options.size ?? 100,
      ...(options.index ? {} : { os, architecture }),
      tags: options.tags ?? [],
    };
    let repo = this.repositories.get(repository);
    if (repo === undefined) {
      repo = { images: new Map(), tags: new Map() };
      this.repositories.set(repository, repo);
    }
    repo.images.set(digest, { manifest, attributes });
    for (const tag of options.tags ?? []) repo.tags.set(tag, digest);
    return digest;
  }

  streamable(digest: string): void {
    this.referrers.set(digest, [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: digestOf(`ref-${digest}`),
        size: 1,
        artifactType: streamingArtifactType,
      },
    ]);
  }

  getManifest(repository: string, reference: string): Promise<FetchedManifest | undefined> {
    const repo = this.repositories.get(repository);
    const digest = reference.startsWith('sha256:') ? reference : repo?.tags.get(reference);
    return Promise.resolve(digest === undefined ? undefined : repo?.images.get(digest)?.manifest);
  }
  getManifestAttributes(repository: string, digest: string): Promise<ManifestAttributes | undefined> {
    return Promise.resolve(this.repositories.get(repository)?.images.get(digest)?.attributes);
  }
  listReferrers(_repository: string, digest: string, artifactType?: string): Promise<Descriptor[]> {
    return Promise.resolve(
      (this.referrers.get(digest) ?? []).filter((d) => !artifactType || d.artifactType === artifactType),
    );
  }
  async *listManifests(repository: string): AsyncGenerator<ManifestAttributes[]> {
    const repo = await Promise.resolve(this.repositories.get(repository));
    if (repo === undefined)
      throw new AcrError('could not list manifests: 404 NAME_UNKNOWN', {
        status: 404,
        code: 'NAME_UNKNOWN',
        correlationId: undefined,
        method: 'GET',
        path: `/acr/v1/${repository}/_manifests`,
      });
    // Newest first, as orderby=timedesc: the last added first.
    yield [...repo.images.values()].reverse().map((image) => image.attributes);
  }
  listRepositories(): Promise<string[]> {
    return this.catalogError
      ? Promise.reject(this.catalogError)
      : Promise.resolve([...this.repositories.keys()].sort());
  }
}

function record(digest: string, overrides: Partial<ConversionRecord>): ConversionRecord {
  return {
    registry: 'contoso',
    repository: 'team-a/app',
    digest,
    status: 'Failed',
    tags: [],
    reason: 'failed',
    source: 'event',
    attempts: 1,
    maxAttempts: 3,
    polls: 0,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    ...overrides,
  };
}

const onPush: Policy = policySchema.parse({ mode: 'onPush' });
const ready: RegistryReadiness = { ready: true, sku: 'Premium', customerManagedKey: false };

function ports(
  registry: MemoryRegistry,
  overrides: Partial<DiagnosisPorts> & { records?: ConversionRecord[]; policy?: Policy } = {},
): DiagnosisPorts {
  const { records = [], policy = onPush, ...rest } = overrides;
  return {
    registry,
    readiness: () => Promise.resolve(ready),
    conversions: {
      read: (key) => {
        const found = records.find((r) => r.repository === key.repository && r.digest === key.digest);
        return Promise.resolve(found ? { value: found, etag: '1' } : undefined);
      },
    },
    policies: {
      policyFor: () => Promise.resolve({ policy, scope: '_default' }),
    },
    now: () => new Date('2026-05-01T00:00:00Z'),
    ...rest,
  };
}

function request(image: string, cluster?: string): DiagnosisRequest {
  const at = image.indexOf('@');
  const parts =
    at >= 0
      ? { repository: image.slice(0, at), digest: image.slice(at + 1) }
      : { repository: image.slice(0, image.lastIndexOf(':')), tag: image.slice(image.lastIndexOf(':') + 1) };
  return { registry: settings, image: parts, ...(cluster ? { cluster } : {}) };
}

const item = (diagnosis: Diagnosis, id: CheckId) => diagnosis.checks.find((entry) => entry.id === id)!;

describe('diagnose: the image checks', () => {
  it('a converted linux/amd64 image passes every check, in the documented order, notes included: will-stream', async () => {
    const registry = new MemoryRegistry();
    const digest = registry.image('team-a/app', { tags: ['v1'] });
    registry.streamable(digest);

    const diagnosis = await diagnose(request('team-a/app:v1'), ports(registry), log);

    expect(diagnosis.checks.map((entry) => entry.id)).toEqual([...checkIds]);
    expect(diagnosis.summary).toEqual({
      verdict: 'will-stream',
      image: { registry: 'contoso', repository: 'team-a/app', tag: 'v1', digest },
    });
    expect(
      diagnosis.checks
        .filter((entry) => !entry.id.startsWith('cluster.') && !entry.id.startsWith('note.'))
        .map((e) => e.status),
    ).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass']);
    expect(item(diagnosis, 'cluster.pull')).toMatchObject({
      status: 'skipped',
      evidence: expect.stringMatching(/no cluster/) as string,
    });
    expect(diagnosis.checks.filter((entry) => entry.id.startsWith('note.')).every((e) => e.status === 'info')).toBe(
      true,
    );
    expect(item(diagnosis, 'note.node-logs').fix).toMatch(
      /journalctl -u acr-mirror.*journalctl -u acr-nodemon.*overlaybd\.log/,
    );
  });

  it('a Standard registry fails registry.premium with the az fix; a CMK registry fails registry.cmk: will-not-stream', async () => {
    const registry = new MemoryRegistry();
    registry.streamable(registry.image('team-a/app', { tags: ['v1'] }));
    const standard = await diagnose(
      request('team-a/app:v1'),
      ports(registry, {
        readiness: () => Promise.resolve({ ready: false, sku: 'Standard', customerManagedKey: false }),
      }),
      log,
    );
    const cmk = await diagnose(
      request('team-a/app:v1'),
      ports(registry, { readiness: () => Promise.resolve({ ready: false, sku: 'Premium', customerManagedKey: true }) }),
      log,
    );

    expect(item(standard, 'registry.premium')).toMatchObject({
      status: 'fail',
      fix: 'az acr update --name contoso --sku Premium',
    });
    expect(standard.summary.verdict).toBe('will-not-stream');
    expect(item(cmk, 'registry.premium').status).toBe('pass');
    expect(item(cmk, 'registry.cmk').status).toBe('fail');
    expect(cmk.summary.verdict).toBe('will-not-stream');
  });

  it('ARM unreadable: both registry checks warn with what to grant, and the verdict is unknown', async () => {
    const registry = new MemoryRegistry();
    registry.streamable(registry.image('team-a/app', { tags: ['v1'] }));

    const diagnosis = await diagnose(
      request('team-a/app:v1'),
      ports(registry, { readiness: () => Promise.resolve({ ready: true, unknown: 'ARM answered 403: no Reader' }) }),
      log,
    );

    expect(item(diagnosis, 'registry.premium')).toMatchObject({
      status: 'warn',
      evidence: expect.stringMatching(/Reader/) as string,
    });
    expect(diagnosis.summary.verdict).toBe('unknown');
  });

  it('a missing tag: the tags that exist, nearest first, and the later checks skipped: will-not-pull', async () => {
    const registry = new MemoryRegistry();
    registry.image('team-a/app', { tags: ['latest'], label: 'a' });
    registry.image('team-a/app', { tags: ['v1.2.0'], label: 'b' });
    registry.image('team-a/app', { tags: ['v1.3.0', 'stable'], label: 'c' });
    registry.image('team-a/app', { tags: ['v2'], label: 'd' });

    const diagnosis = await diagnose(request('team-a/app:v1.3'), ports(registry), log);

    const exists = item(diagnosis, 'image.exists');
    expect(exists.status).toBe('fail');
    expect(exists.evidence).toContain('MANIFEST_UNKNOWN');
    expect(exists.evidence).toContain('nearest first: v1.3.0, v2, v1.2.0, stable, latest');
    expect(exists.fix).toContain('contoso.azurecr.io/team-a/app:v1.3.0');
    expect(
      ['image.platform', 'image.size', 'streaming.artifact', 'policy.decision'].map(
        (id) => item(diagnosis, id as CheckId).status,
      ),
    ).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(diagnosis.summary.verdict).toBe('will-not-pull');
  });

  it('a nearest-tags answer is bounded by the suggestion limit', async () => {
    const registry = new MemoryRegistry();
    for (let index = 0; index < 20; index++) registry.image('team-a/app', { tags: [`v${index}`], label: `t${index}` });

    const diagnosis = await diagnose(request('team-a/app:v100'), ports(registry, { limits: { suggestions: 3 } }), log);

    expect(item(diagnosis, 'image.exists').evidence).toMatch(/nearest first: v10, v19, v18$/);
  });

  it('an unknown repository: NAME_UNKNOWN with the nearest repositories of the catalog', async () => {
    const registry = new MemoryRegistry();
    registry.image('team-a/app', { tags: ['v1'] });
    registry.image('team-a/api', { tags: ['v1'] });
    registry.image('team-b/web', { tags: ['v1'] });

    const diagnosis = await diagnose(request('team-a/apps:v1'), ports(registry), log);

    expect(item(diagnosis, 'image.exists')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(
        /NAME_UNKNOWN.*nearest repositories: team-a\/app, team-a\/api, team-b\/web/,
      ) as string,
      fix: expect.stringContaining('contoso.azurecr.io/team-a/app') as string,
    });
  });

  it('an unknown repository whose catalog cannot be listed still fails, saying why', async () => {
    const registry = new MemoryRegistry();
    registry.catalogError = new Error('403 DENIED');

    const diagnosis = await diagnose(request('team-z/x:v1'), ports(registry), log);

    expect(item(diagnosis, 'image.exists').evidence).toMatch(/catalog could not be listed: 403 DENIED/);
  });

  it('an arm64-only image fails image.platform with a rebuild fix and skips the artifact check', async () => {
    const registry = new MemoryRegistry();
    registry.image('team-a/arm', { tags: ['v1'], platform: 'linux/arm64' });

    const diagnosis = await diagnose(request('team-a/arm:v1'), ports(registry), log);

    expect(item(diagnosis, 'image.platform')).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('linux/arm64') as string,
      fix: expect.stringContaining('--platform linux/amd64') as string,
    });
    expect(item(diagnosis, 'streaming.artifact').status).toBe('skipped');
    expect(item(diagnosis, 'policy.decision')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(/linux\/amd64 only/) as string,
    });
    expect(diagnosis.summary.verdict).toBe('will-not-stream');
  });

  it('an index with linux/amd64 passes the platform check; one without fails it', async () => {
    const registry = new MemoryRegistry();
    const multi = registry.image('team-b/multi', { tags: ['v1'], index: ['linux/amd64', 'linux/arm64'] });
    registry.streamable(multi);
    registry.image('team-b/armonly', { tags: ['v1'], index: ['linux/arm64', 'linux/arm/v7'] });

    const passing = await diagnose(request('team-b/multi:v1'), ports(registry), log);
    const failing = await diagnose(request('team-b/armonly:v1'), ports(registry), log);

    expect(item(passing, 'image.platform')).toMatchObject({
      status: 'pass',
      evidence: expect.stringMatching(/index of linux\/amd64/) as string,
    });
    expect(item(failing, 'image.platform')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(/without linux\/amd64/) as string,
    });
  });

  it('an image over 30 GiB fails image.size', async () => {
    const registry = new MemoryRegistry();
    registry.streamable(registry.image('team-a/big', { tags: ['v1'], size: 31 * 1024 ** 3 }));

    const diagnosis = await diagnose(request('team-a/big:v1'), ports(registry), log);

    expect(item(diagnosis, 'image.size')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(/^31\.0 GiB/) as string,
    });
    expect(diagnosis.summary.verdict).toBe('will-not-stream');
  });

  it('an unconverted image with no record: streaming.artifact fails with the conversions start and az fixes', async () => {
    const registry = new MemoryRegistry();
    registry.image('team-a/app', { tags: ['v1'] });

    const diagnosis = await diagnose(request('team-a/app:v1'), ports(registry), log);

    expect(item(diagnosis, 'streaming.artifact')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(/no conversion/) as string,
      fix:
        'acr-streaming conversions start team-a/app:v1 --registry contoso --wait ' +
        '(or: az acr artifact-streaming create --name contoso --image team-a/app:v1)',
    });
    expect(diagnosis.summary.verdict).toBe('will-not-stream');
  });

  it("a failed conversion: the record's last failure and remediation are the evidence", async () => {
    const registry = new MemoryRegistry();
    const digest = registry.image('team-a/app', { tags: ['v1'] });
    const failed = record(digest, {
      lastErrorCode: 'UNKNOWN_ERROR',
      lastErrorMessage: 'Conversion operation failed due to an unknown error',
      remediation: 'retry; open a support request',
      operationId: 'op-1',
    });

    const diagnosis = await diagnose(request('team-a/app:v1'), ports(registry, { records: [failed] }), log);

    expect(item(diagnosis, 'streaming.artifact').evidence).toMatch(
      /conversion is Failed \(ACR operation op-1\); last failure UNKNOWN_ERROR: Conversion operation failed .*; remediation: retry/,
    );
  });

  it('a running conversion: fail for now, with how to follow it', async () => {
    const registry = new MemoryRegistry();
    const digest = registry.image('team-a/app', { tags: ['v1'] });
    const running = record(digest, { status: 'Running', operationId: 'op-2', progress: '40%' });

    const diagnosis = await diagnose(request('team-a/app:v1'), ports(registry, { records: [running] }), log);

    expect(item(diagnosis, 'streaming.artifact')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(/Running \(ACR operation op-2, 40%\)/) as string,
      fix: expect.stringContaining(`acr-streaming conversions get team-a/app@${digest}`) as string,
    });
  });

  it('policy.decision names the governing scope; an off policy fails for an unconverted image and warns for a converted one', async () => {
    const registry = new MemoryRegistry();
    registry.image('team-a/app', { tags: ['v1'] });
    const converted = registry.image('team-a/done', { tags: ['v1'] });
    registry.streamable(converted);
    const off = policySchema.parse({ mode: 'off' });

    const unconverted = await diagnose(request('team-a/app:v1'), ports(registry, { policy: off }), log);
    const streams = await diagnose(request('team-a/done:v1'), ports(registry, { policy: off }), log);

    expect(item(unconverted, 'policy.decision')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(/scope _default \(mode off\).*policy for this repository is off/) as string,
      fix: expect.stringContaining('acr-streaming policy patch _default') as string,
    });
    expect(item(streams, 'policy.decision').status).toBe('warn');
    expect(streams.summary.verdict).toBe('will-stream');
  });

  it('ACR failing a read: image.exists warns with the error, and the verdict is unknown', async () => {
    const registry = new MemoryRegistry();
    registry.getManifest = () => Promise.reject(new Error('socket hang up'));

    const diagnosis = await diagnose(request('team-a/app:v1'), ports(registry), log);

    expect(item(diagnosis, 'image.exists')).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('socket hang up') as string,
    });
    expect(diagnosis.summary.verdict).toBe('unknown');
  });
});

const capablePool: AgentPoolView = {
  name: 'nodes',
  mode: 'User',
  count: 3,
  vmSize: 'Standard_D4s_v5',
  osType: 'Linux',
  osSku: 'AzureLinux',
  kubernetesVersion: '1.30.4',
  nodeImageVersion: 'AKSAzureLinux-V2gen2-202511.07.0',
  artifactStreamingEnabled: true,
  vnetSubnetId:
    '/subscriptions/s1/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/aks-vnet/subnets/nodes',
};

function clusterView(overrides: Partial<ClusterView> = {}): ClusterView {
  return {
    id: clusterId,
    name: 'aks1',
    subscriptionId: 's1',
    resourceGroup: 'aks-rg',
    location: 'eastus',
    kubernetesVersion: '1.30.4',
    kubeletIdentity: { objectId: 'kubelet-1' },
    outboundIpAddresses: ['20.1.2.3'],
    outboundType: 'loadBalancer',
    pools: [capablePool],
    ...overrides,
  };
}

const networkView: RegistryNetworkView = {
  id: registryId,
  name: 'contoso',
  location: 'eastus',
  sku: 'Premium',
  publicNetworkAccess: 'Enabled',
  privateEndpoints: [],
  replicaLocations: ['eastus'],
};

const acrPull: RoleGrantView = {
  principalId: 'kubelet-1',
  roleDefinitionId: '/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d',
  roleName: 'AcrPull',
  scope: registryId,
  actions: ['Microsoft.ContainerRegistry/registries/pull/read'],
  notActions: [],
  dataActions: [],
  notDataActions: [],
};

function consumers(
  cluster: ClusterView | undefined,
  registry: RegistryNetworkView = networkView,
  grants: RoleGrantView[] = [acrPull],
): ConsumerSource {
  return {
    async *clusters() {},
    cluster: () => Promise.resolve(cluster),
    registry: () => Promise.resolve(registry),
    grants: () => Promise.resolve(new Map(grants.length > 0 ? [['kubelet-1', grants]] : [])),
  };
}

describe('diagnose: the cluster checks', () => {
  async function withCluster(source: ConsumerSource | undefined): Promise<Diagnosis> {
    const registry = new MemoryRegistry();
    registry.streamable(registry.image('team-a/app', { tags: ['v1'] }));
    return diagnose(request('team-a/app:v1', clusterId), ports(registry, source ? { consumers: source } : {}), log);
  }

  it('a capable cluster with AcrPull on an open registry: every cluster check passes, will-stream', async () => {
    const diagnosis = await withCluster(consumers(clusterView()));

    expect(
      ['cluster.pull', 'cluster.network', 'cluster.pools', 'cluster.region'].map(
        (id) => item(diagnosis, id as CheckId).status,
      ),
    ).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(item(diagnosis, 'cluster.pull').evidence).toMatch(/AcrPull at .*regcred/);
    expect(diagnosis.summary).toMatchObject({ verdict: 'will-stream', cluster: clusterId });
  });

  it('without a consumer source the cluster checks are skipped with why, and the verdict is unknown', async () => {
    const diagnosis = await withCluster(undefined);

    expect(item(diagnosis, 'cluster.pools')).toMatchObject({
      status: 'skipped',
      evidence: expect.stringMatching(/no consumer source/) as string,
    });
    expect(diagnosis.summary.verdict).toBe('unknown');
  });

  it('a kubelet identity without AcrPull fails cluster.pull with the attach fix: will-not-pull', async () => {
    const diagnosis = await withCluster(consumers(clusterView(), networkView, []));

    expect(item(diagnosis, 'cluster.pull')).toMatchObject({
      status: 'fail',
      fix: `az aks update --resource-group aks-rg --name aks1 --attach-acr ${registryId}`,
    });
    expect(diagnosis.summary.verdict).toBe('will-not-pull');
  });

  it('pools that cannot stream: fail with each reason and fix (ARM64, OS Guard, 1.25, streaming off)', async () => {
    const pools: AgentPoolView[] = [
      { ...capablePool, name: 'arm', vmSize: 'Standard_D4ps_v5' },
      { ...capablePool, name: 'guard', osSku: 'AzureLinuxOSGuard' },
      { ...capablePool, name: 'old', kubernetesVersion: '1.25.6' },
      { ...capablePool, name: 'off', artifactStreamingEnabled: false },
    ];

    const diagnosis = await withCluster(consumers(clusterView({ pools })));

    const check = item(diagnosis, 'cluster.pools');
    expect(check.status).toBe('fail');
    expect(check.evidence).toMatch(/arm \(.*\): cannot stream: VM size Standard_D4ps_v5 is ARM64/);
    expect(check.evidence).toMatch(/guard .*OS Guard/);
    expect(check.evidence).toMatch(/old .*Kubernetes 1\.25\.6/);
    expect(check.fix).toContain(
      'az aks nodepool update --resource-group aks-rg --cluster-name aks1 --name off --enable-artifact-streaming',
    );
    expect(diagnosis.summary.verdict).toBe('will-not-stream');
  });

  it('some pools capable: warn, naming where pods stream', async () => {
    const pools = [capablePool, { ...capablePool, name: 'off', artifactStreamingEnabled: false }];

    const diagnosis = await withCluster(consumers(clusterView({ pools })));

    expect(item(diagnosis, 'cluster.pools')).toMatchObject({
      status: 'warn',
      evidence: expect.stringMatching(/stream only on nodes/) as string,
    });
  });

  it('a region without a replica warns on cluster.region with the replication fix, and the image still streams', async () => {
    const diagnosis = await withCluster(consumers(clusterView({ location: 'westus3' })));

    expect(diagnosis.summary.verdict).toBe('will-stream');
    expect(item(diagnosis, 'cluster.region')).toMatchObject({
      status: 'warn',
      fix: 'az acr replication create --registry contoso --location westus3',
    });
  });

  it('ARM failing the cluster read: the cluster checks warn with the error', async () => {
    const source = {
      ...consumers(undefined),
      cluster: () => Promise.reject(Object.assign(new Error('Forbidden'), { statusCode: 403 })),
    };

    const diagnosis = await withCluster(source);

    expect(item(diagnosis, 'cluster.pull')).toMatchObject({
      status: 'warn',
      evidence: expect.stringMatching(/403: Forbidden.*Reader/) as string,
    });
    expect(diagnosis.summary.verdict).toBe('unknown');
  });
});

describe('networkCheck', () => {
  const denyWith = (ipRules: { value: string; action?: string }[]): RegistryNetworkView => ({
    ...networkView,
    networkRuleSet: { defaultAction: 'Deny', ipRules },
  });

  it('default action Deny: outbound addresses inside the IP rules (CIDR or single address) pass', () => {
    const check = networkCheck(
      clusterView({ outboundIpAddresses: ['20.1.2.3', '52.0.0.9'] }),
      denyWith([{ value: '20.1.2.0/24', action: 'Allow' }, { value: '52.0.0.9' }]),
    );

    expect(check.status).toBe('pass');
  });

  it('an outbound address outside the rules fails with an az acr network-rule add per address', () => {
    const check = networkCheck(
      clusterView({ outboundIpAddresses: ['20.1.3.3'] }),
      denyWith([{ value: '20.1.2.0/24' }]),
    );

    expect(check).toMatchObject({
      status: 'fail',
      fix: 'az acr network-rule add --name contoso --ip-address 20.1.3.3',
    });
  });

  it('outbound addresses unknown (user-defined routing): warn', () => {
    const cluster = clusterView({ outboundType: 'userDefinedRouting' });
    const { outboundIpAddresses: _omitted, ...withoutAddresses } = cluster;

    const check = networkCheck(withoutAddresses, denyWith([{ value: '20.1.2.0/24' }]));

    expect(check).toMatchObject({ status: 'warn', evidence: expect.stringMatching(/userDefinedRouting/) as string });
  });

  it("public access Disabled with an approved private endpoint in the pools' virtual network: pass", () => {
    const registry: RegistryNetworkView = {
      ...networkView,
      publicNetworkAccess: 'Disabled',
      privateEndpoints: [
        {
          id: '/subscriptions/s1/resourceGroups/net-rg/providers/Microsoft.Network/privateEndpoints/acr-pe',
          status: 'Approved',
          subnetId:
            '/subscriptions/s1/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/AKS-VNET/subnets/endpoints',
        },
      ],
    };

    expect(networkCheck(clusterView(), registry).status).toBe('pass');
  });

  it('public access Disabled, an endpoint in another virtual network: warn (peering not checked); none at all: fail', () => {
    const elsewhere: RegistryNetworkView = {
      ...networkView,
      publicNetworkAccess: 'Disabled',
      privateEndpoints: [
        {
          id: '/subscriptions/s1/resourceGroups/net-rg/providers/Microsoft.Network/privateEndpoints/hub-pe',
          status: 'Approved',
          subnetId:
            '/subscriptions/s1/resourceGroups/hub-rg/providers/Microsoft.Network/virtualNetworks/hub/subnets/pe',
        },
      ],
    };
    const none: RegistryNetworkView = { ...networkView, publicNetworkAccess: 'Disabled' };

    expect(networkCheck(clusterView(), elsewhere)).toMatchObject({
      status: 'warn',
      evidence: expect.stringMatching(/peered/) as string,
    });
    expect(networkCheck(clusterView(), none)).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('az network private-endpoint create --resource-group net-rg') as string,
    });
    expect(networkCheck(clusterView(), none).fix).toContain('--vnet-name aks-vnet');
  });

  it('a pending private endpoint does not count', () => {
    const registry: RegistryNetworkView = {
      ...networkView,
      publicNetworkAccess: 'Disabled',
      privateEndpoints: [
        {
          id: 'pe',
          status: 'Pending',
          subnetId:
            '/subscriptions/s1/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/aks-vnet/subnets/x',
        },
      ],
    };

    expect(networkCheck(clusterView(), registry).status).toBe('fail');
  });
});
