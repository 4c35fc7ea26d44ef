import { AcrError } from '../core/errors.js';
import { isLinuxAmd64, decide, type ImageFacts, type RegistryReadiness } from '../policy/eligibility.js';
import type { FetchedManifest, ManifestAttributes, RegistryDataPlane } from '../core/acr.js';
import type { Logger } from '../core/logging.js';
import type { RegistrySettings } from '../core/registries.js';
import type { ConversionStore } from '../conversion/ports.js';
import type { ConversionRecord } from '../conversion/record.js';
import { inspectManifest } from '../conversion/inspect.js';
import { streamingArtifactsOf } from '../conversion/streaming-artifacts.js';
import type { PolicySource } from '../policy/model.js';
import { classifyCluster, pullRoles } from '../consumers/classify.js';
import type {
  ClusterVerdict,
  ClusterView,
  ConsumerSource,
  RegistryNetworkView,
  RoleGrantView,
} from '../consumers/model.js';
import type { CheckId, CheckItem, CheckStatus, Diagnosis, Verdict } from './model.js';
import { nearest } from './nearest.js';
import { cidrContains, resourceGroupOf, virtualNetworkName, virtualNetworkOf } from './network.js';

/** What the doctor is asked: an image of a configured registry, optionally against one AKS cluster. */
export interface DiagnosisRequest {
  readonly registry: RegistrySettings;
  readonly image: { readonly repository: string; readonly tag?: string; readonly digest?: string };
  /** An AKS cluster's ARM resource ID. */
  readonly cluster?: string;
}

/** The registry calls the doctor makes, all reads (lib/registry/client.ts implements them). */
export type DiagnosisRegistry = Pick<
  RegistryDataPlane,
  'getManifest' | 'getManifestAttributes' | 'listReferrers' | 'listManifests' | 'listRepositories'
>;

/** The doctor's ports: each a read; none acts on anything. */
export interface DiagnosisPorts {
  readonly registry: DiagnosisRegistry;
  /** The registry's readiness as the conversion path reads it (ARM, cached: lib/registry/readiness.ts). */
  readonly readiness: (log: Logger) => Promise<RegistryReadiness>;
  readonly conversions: Pick<ConversionStore, 'read'>;
  /** Which policy governs a repository (the stored policies, or the DEFAULT_POLICY setting). */
  readonly policies: PolicySource;
  /** ARM's clusters, registry network and role assignments; without it the cluster checks are skipped. */
  readonly consumers?: ConsumerSource;
  readonly now: () => Date;
  readonly limits?: {
    /** Names suggested for a missing tag or repository (default 5). */
    readonly suggestions?: number;
    /** Pages of 100 manifests read to find a repository's tags (default 10: the newest 1,000 manifests). */
    readonly manifestPages?: number;
  };
}

const learn = 'https://learn.microsoft.com/azure';
const docs = {
  streaming: `${learn}/container-registry/container-registry-artifact-streaming`,
  aksStreaming: `${learn}/aks/artifact-streaming`,
  troubleshoot: `${learn}/container-registry/troubleshoot-artifact-streaming`,
  pullFailures:
    'https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/connectivity/cannot-pull-image-from-acr-to-aks-cluster',
  attach: `${learn}/aks/cluster-container-registry-integration`,
  ipRules: `${learn}/container-registry/container-registry-access-selected-networks`,
  privateLink: `${learn}/container-registry/container-registry-private-link`,
  replication: `${learn}/container-registry/container-registry-geo-replication`,
} as const;

/**
 * Artifact streaming "works best for images < 30 GB" (Microsoft Learn, seeds 004 and the AKS page); ACR refuses larger
 * ones with IMAGE_TOO_LARGE (lib/conversion/failures.ts). GB read as GiB, as the policy's default limit reads it.
 */
const maxStreamableBytes = 30 * 1024 ** 3;

/** Checks whose failure means the image does not even pull; any other failure: it pulls but does not stream. */
const pullBlocking: ReadonlySet<CheckId> = new Set(['image.exists', 'cluster.pull', 'cluster.network']);
/** The checks that decide the verdict: one that could not be made (warn, skipped) leaves it unknown. */
const deciding: ReadonlySet<CheckId> = new Set([
  'registry.premium',
  'registry.cmk',
  'image.exists',
  'image.platform',
  'streaming.artifact',
]);
/** `cluster.region` is advice (streaming crosses regions), so its warning leaves the verdict as it is. */
const decidingWithCluster: ReadonlySet<CheckId> = new Set(['cluster.pull', 'cluster.network', 'cluster.pools']);

const titles: Record<CheckId, string> = {
  'registry.premium': 'The registry is Premium',
  'registry.cmk': 'The registry is not encrypted with a customer-managed key',
  'image.exists': 'The image exists',
  'image.platform': 'The image is linux/amd64 (or an index with a linux/amd64 image)',
  'image.size': 'The image is under 30 GB',
  'streaming.artifact': 'The streaming artifact exists',
  'policy.decision': 'The policy governing the repository converts this image',
  'cluster.pull': "The cluster's kubelet identity may pull from the registry",
  'cluster.network': 'The cluster can reach the registry',
  'cluster.pools': "The cluster's node pools can stream",
  'cluster.region': "The registry is in, or replicated to, the cluster's region (advice: streaming crosses regions)",
  'note.digest-deployments': 'Pods deployed by digest',
  'note.upgrade-if-streamable-disabled': 'The UpgradeIfStreamableDisabled pod condition',
  'note.node-logs': 'Node-level logs',
};

function check(
  id: CheckId,
  status: CheckStatus,
  evidence: string,
  extra: { fix?: string | undefined; docs?: string | undefined } = {},
): CheckItem {
  return {
    id,
    title: titles[id],
    status,
    evidence,
    ...(extra.fix ? { fix: extra.fix } : {}),
    ...(extra.docs ? { docs: extra.docs } : {}),
  };
}

function describeError(error: unknown): string {
  if (error instanceof AcrError) return `${error.details.status} ${error.details.code}: ${error.message.slice(0, 300)}`;
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  const text = error instanceof Error ? error.message.slice(0, 300) : String(error).slice(0, 300);
  return typeof status === 'number' ? `${status}: ${text}` : text;
}

const gib = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
const platformText = (facts: ImageFacts): string =>
  facts.platforms.map((p) => `${p.os}/${p.architecture}`).join(', ') || 'none reported';

/** The image as found: the manifest, ACR's attributes and what the push path would decide on. */
interface FoundImage {
  readonly digest: string;
  readonly manifest: FetchedManifest;
  readonly facts: ImageFacts;
}

/**
 * Every reason an image of a registry would not stream or not pull, as an ordered checklist (the ids of
 * lib/diagnosis/model.ts, in that order), each with the evidence read and the fix; a check whose prerequisite failed
 * is `skipped` with why. Reads only: nothing is converted, written or changed. ACR and ARM failures become `warn`
 * checks (the verdict is then `unknown`), never a failed request.
 */
export async function diagnose(request: DiagnosisRequest, ports: DiagnosisPorts, log: Logger): Promise<Diagnosis> {
  const { registry, image } = request;
  const checks: CheckItem[] = [];

  const readiness = await ports.readiness(log);
  checks.push(...registryChecks(registry, readiness));

  const lookup = await findImage(request, ports);
  checks.push(lookup.check);
  const found = lookup.found;
  if (found === undefined) {
    const why = 'the image was not found (image.exists)';
    checks.push(
      check('image.platform', 'skipped', why),
      check('image.size', 'skipped', why),
      check('streaming.artifact', 'skipped', why),
      await policyWithoutImage(request, ports),
    );
  } else {
    const platform = platformCheck(found, image, registry.loginServer);
    checks.push(platform, sizeCheck(found));
    const artifact = await artifactCheck(request, ports, found, platform.status);
    checks.push(artifact.check);
    checks.push(await policyCheck(request, ports, found, readiness, artifact.present));
  }

  checks.push(...(await clusterChecks(request, ports, readiness)));
  checks.push(...notes(registry, image));

  return {
    summary: {
      verdict: verdictOf(checks, request.cluster !== undefined),
      image: {
        registry: registry.name,
        repository: image.repository,
        ...(image.tag ? { tag: image.tag } : {}),
        ...(found ? { digest: found.digest } : image.digest ? { digest: image.digest } : {}),
      },
      ...(request.cluster ? { cluster: request.cluster } : {}),
    },
    checks,
    checkedAt: ports.now().toISOString(),
  };
}

/** Any pull-blocking failure: will-not-pull; any other failure: will-not-stream; a deciding check not made: unknown. */
export function verdictOf(checks: readonly CheckItem[], withCluster: boolean): Verdict {
  const failed = checks.filter((item) => item.status === 'fail');
  if (failed.some((item) => pullBlocking.has(item.id))) return 'will-not-pull';
  if (failed.length > 0) return 'will-not-stream';
  const undecided = checks.some(
    (item) =>
      (item.status === 'warn' || item.status === 'skipped') &&
      (deciding.has(item.id) || (withCluster && decidingWithCluster.has(item.id))),
  );
  return undecided ? 'unknown' : 'will-stream';
}

function registryChecks(registry: RegistrySettings, readiness: RegistryReadiness): CheckItem[] {
  if (readiness.unknown !== undefined) {
    const evidence =
      `ARM could not be read (${readiness.unknown}): grant the app's identity Reader on ${registry.name} so its SKU ` +
      'and encryption can be checked';
    const fix = `az role assignment create --assignee <the app's principal id> --role Reader --scope ${registry.resourceId}`;
    return [
      check('registry.premium', 'warn', evidence, { fix, docs: docs.streaming }),
      check('registry.cmk', 'warn', evidence, { fix, docs: docs.streaming }),
    ];
  }
  const premium =
    readiness.sku === 'Premium'
      ? check('registry.premium', 'pass', `ARM: ${registry.name} has SKU Premium`, { docs: docs.streaming })
      : check(
          'registry.premium',
          'fail',
          `ARM: ${registry.name} has SKU ${readiness.sku ?? 'unknown'}; artifact streaming is available in Premium only`,
          { fix: `az acr update --name ${registry.name} --sku Premium`, docs: docs.streaming },
        );
  const cmk =
    readiness.customerManagedKey === true
      ? check(
          'registry.cmk',
          'fail',
          `ARM: ${registry.name} is encrypted with a customer-managed key (encryption.status enabled); registries ` +
            'with customer-managed keys do not support artifact streaming',
          {
            fix: `push the images that must stream to a Premium registry without customer-managed keys (encryption cannot be turned off on ${registry.name})`,
            docs: docs.streaming,
          },
        )
      : check(
          'registry.cmk',
          'pass',
          `ARM: ${registry.name} uses Microsoft-managed keys (encryption.status disabled)`,
          {
            docs: docs.streaming,
          },
        );
  return [premium, cmk];
}

/** `repo:tag` or `repo@digest`, as the user named it. */
function referenceText(image: DiagnosisRequest['image']): string {
  return image.digest ? `${image.repository}@${image.digest}` : `${image.repository}:${image.tag ?? ''}`;
}

async function findImage(
  request: DiagnosisRequest,
  ports: DiagnosisPorts,
): Promise<{ check: CheckItem; found?: FoundImage }> {
  const { registry, image } = request;
  const reference = image.digest ?? image.tag ?? '';
  const named = `${registry.loginServer}/${referenceText(image)}`;
  try {
    const manifest = await ports.registry.getManifest(image.repository, reference);
    if (manifest === undefined) return { check: await missingImage(request, ports) };
    const attributes: ManifestAttributes | undefined = await ports.registry.getManifestAttributes(
      image.repository,
      manifest.digest,
    );
    const tags = attributes?.tags ?? [];
    const facts = inspectManifest(image.repository, manifest, attributes, tags);
    const evidence = image.digest
      ? `${named} exists (${manifest.mediaType}${tags.length > 0 ? `; tags ${tags.join(', ')}` : '; untagged'})`
      : `${named} is ${manifest.digest} (${manifest.mediaType})`;
    return {
      check: check('image.exists', 'pass', evidence, { docs: docs.pullFailures }),
      found: { digest: manifest.digest, manifest, facts },
    };
  } catch (error) {
    return {
      check: check('image.exists', 'warn', `ACR could not be read for ${named}: ${describeError(error)}`, {
        docs: docs.pullFailures,
      }),
    };
  }
}

/**
 * A manifest ACR does not hold: "manifest unknown" (the tag or digest) or "name unknown" (the repository), the OCI
 * distribution spec's MANIFEST_UNKNOWN and NAME_UNKNOWN (spec.md § Error Codes). Which one is told by listing the
 * repository's manifests: ACR answers 404 for a repository it does not hold (assumption: the emulator's
 * NAME_UNKNOWN; the listing's 404 is not recorded from ACR). The tags that exist come nearest first; for an unknown
 * repository, the nearest names of the catalog.
 */
async function missingImage(request: DiagnosisRequest, ports: DiagnosisPorts): Promise<CheckItem> {
  const { registry, image } = request;
  const limit = ports.limits?.suggestions ?? 5;
  const maxPages = ports.limits?.manifestPages ?? 10;
  const named = `${registry.loginServer}/${referenceText(image)}`;
  const tags: string[] = [];
  let truncated = false;
  try {
    let pages = 0;
    for await (const page of ports.registry.listManifests(image.repository, { pageSize: 100, orderBy: 'timedesc' })) {
      for (const manifest of page) tags.push(...(manifest.tags ?? []));
      if (++pages >= maxPages) {
        truncated = true;
        break;
      }
    }
  } catch (error) {
    if (error instanceof AcrError && error.status === 404) return unknownRepository(request, ports, limit);
    return check(
      'image.exists',
      'fail',
      `${named}: not found, and the tags could not be listed: ${describeError(error)}`,
      {
        docs: docs.pullFailures,
      },
    );
  }
  const scanned = truncated ? ` (among the newest ${maxPages * 100} manifests)` : '';
  const list = `az acr repository show-tags --name ${registry.name} --repository ${image.repository} --orderby time_desc`;
  if (image.digest) {
    const newest = tags.slice(0, limit);
    return check(
      'image.exists',
      'fail',
      `${named}: manifest unknown (MANIFEST_UNKNOWN): ${image.repository} holds no manifest ${image.digest}` +
        (newest.length > 0 ? `; its newest tags${scanned}: ${newest.join(', ')}` : '; it has no tags'),
      { fix: `deploy a digest the repository holds (${list})`, docs: docs.pullFailures },
    );
  }
  const suggestions = nearest(image.tag ?? '', tags, limit);
  return check(
    'image.exists',
    'fail',
    `${named}: manifest unknown (MANIFEST_UNKNOWN): no tag ${image.tag} in ${image.repository}` +
      (suggestions.length > 0
        ? `; tags that exist, nearest first${scanned}: ${suggestions.join(', ')}`
        : '; it has no tags'),
    {
      fix:
        suggestions.length > 0
          ? `use an existing tag, e.g. ${registry.loginServer}/${image.repository}:${suggestions[0]}, or push ${image.tag} (${list})`
          : `push the image: docker push ${named}`,
      docs: docs.pullFailures,
    },
  );
}

async function unknownRepository(request: DiagnosisRequest, ports: DiagnosisPorts, limit: number): Promise<CheckItem> {
  const { registry, image } = request;
  const named = `${registry.loginServer}/${referenceText(image)}`;
  const head = `${named}: name unknown (NAME_UNKNOWN): ${registry.name} has no repository ${image.repository}`;
  const list = `az acr repository list --name ${registry.name}`;
  try {
    const suggestions = nearest(image.repository, await ports.registry.listRepositories({ pageSize: 1_000 }), limit);
    return check(
      'image.exists',
      'fail',
      head + (suggestions.length > 0 ? `; nearest repositories: ${suggestions.join(', ')}` : '; the registry is empty'),
      {
        fix:
          suggestions.length > 0
            ? `use an existing repository, e.g. ${registry.loginServer}/${suggestions[0]} (${list})`
            : `push the image: docker push ${named}`,
        docs: docs.pullFailures,
      },
    );
  } catch (error) {
    return check('image.exists', 'fail', `${head}; the catalog could not be listed: ${describeError(error)}`, {
      fix: list,
      docs: docs.pullFailures,
    });
  }
}

function platformCheck(found: FoundImage, image: DiagnosisRequest['image'], loginServer: string): CheckItem {
  const { facts } = found;
  const rebuild = `docker buildx build --platform linux/amd64,linux/arm64 -t ${loginServer}/${image.repository}:${image.tag ?? '<tag>'} --push .`;
  switch (facts.kind) {
    case 'referrer':
      return check(
        'image.platform',
        'fail',
        `${found.digest} is a referrer (${found.manifest.document.artifactType ?? 'an OCI 1.1 artifact with a subject'}), not an image: deploy its subject`,
        { docs: docs.streaming },
      );
    case 'helm-chart':
    case 'artifact':
      return check(
        'image.platform',
        'fail',
        `${found.digest} is ${facts.kind === 'helm-chart' ? 'a Helm chart' : `an OCI artifact (config ${found.manifest.document.config?.mediaType ?? 'unknown'})`}; artifact streaming converts container images only`,
        { docs: docs.streaming },
      );
    case 'index': {
      const amd64 = facts.platforms.some(isLinuxAmd64);
      return amd64
        ? check(
            'image.platform',
            'pass',
            `an index of ${platformText(facts)}: its linux/amd64 image streams, the others are pulled as usual`,
            { docs: docs.streaming },
          )
        : check(
            'image.platform',
            'fail',
            `an index of ${platformText(facts)} without linux/amd64, the only platform artifact streaming supports`,
            { fix: `add a linux/amd64 image to the index: ${rebuild}`, docs: docs.streaming },
          );
    }
    case 'image':
      if (facts.platforms.length === 0)
        return check('image.platform', 'warn', 'ACR reported no os/architecture for this image', {
          docs: docs.streaming,
        });
      return facts.platforms.some(isLinuxAmd64)
        ? check('image.platform', 'pass', `an image for ${platformText(facts)}`, { docs: docs.streaming })
        : check(
            'image.platform',
            'fail',
            `an image for ${platformText(facts)}; artifact streaming supports linux/amd64 images only (no Windows, no ARM64)`,
            { fix: `push a linux/amd64 build, or a multi-arch index with one: ${rebuild}`, docs: docs.streaming },
          );
  }
}

function sizeCheck(found: FoundImage): CheckItem {
  const { facts } = found;
  if (facts.kind !== 'image' && facts.kind !== 'index')
    return check('image.size', 'skipped', `not a container image (${facts.kind})`);
  if (facts.sizeBytes === undefined)
    return check('image.size', 'warn', 'ACR reported no size for this manifest', { docs: docs.aksStreaming });
  return facts.sizeBytes < maxStreamableBytes
    ? check('image.size', 'pass', `${gib(facts.sizeBytes)} (${facts.sizeBytes} bytes), under 30 GB`, {
        docs: docs.aksStreaming,
      })
    : check(
        'image.size',
        'fail',
        `${gib(facts.sizeBytes)} (${facts.sizeBytes} bytes): artifact streaming works best for images under 30 GB, and ` +
          'ACR refuses larger ones (IMAGE_TOO_LARGE)',
        {
          fix: 'slim the image (multi-stage build); mount files over 30 GB as a volume instead of building them into a layer',
          docs: docs.aksStreaming,
        },
      );
}

/** The commands that convert one image: the app's CLI, or ACR's own. */
function convertCommands(request: DiagnosisRequest, digest: string): string {
  const { registry, image } = request;
  const byTag = image.tag ? `${image.repository}:${image.tag}` : `${image.repository}@${digest}`;
  return (
    `acr-streaming conversions start ${byTag} --registry ${registry.name} --wait` +
    ` (or: az acr artifact-streaming create --name ${registry.name} --image ${byTag})`
  );
}

async function artifactCheck(
  request: DiagnosisRequest,
  ports: DiagnosisPorts,
  found: FoundImage,
  platform: CheckStatus,
): Promise<{ check: CheckItem; present: boolean }> {
  const { image } = request;
  if (platform === 'fail')
    return {
      check: check('streaming.artifact', 'skipped', 'the image cannot be converted (image.platform)'),
      present: false,
    };
  let artifacts;
  try {
    artifacts = await streamingArtifactsOf(ports.registry, image.repository, found.digest, {
      mediaType: found.manifest.mediaType,
    });
  } catch (error) {
    return {
      check: check('streaming.artifact', 'warn', `the referrers could not be listed: ${describeError(error)}`, {
        docs: docs.streaming,
      }),
      present: false,
    };
  }
  if (artifacts.length > 0) {
    const first = artifacts[0]!;
    return {
      check: check(
        'streaming.artifact',
        'pass',
        `referrer ${first.digest} of artifactType ${first.artifactType ?? 'application/vnd.azure.artifact.streaming.v1'}` +
          `${artifacts.length > 1 ? ` (and ${artifacts.length - 1} more)` : ''} makes ${found.digest} streamable`,
        { docs: docs.streaming },
      ),
      present: true,
    };
  }
  const head = `no referrer of artifactType application/vnd.azure.artifact.streaming.v1 on ${found.digest}`;
  let record: ConversionRecord | undefined;
  try {
    record = (
      await ports.conversions.read({
        registry: request.registry.name,
        repository: image.repository,
        digest: found.digest,
      })
    )?.value;
  } catch (error) {
    return {
      check: check(
        'streaming.artifact',
        'fail',
        `${head}; the app's conversion record could not be read: ${describeError(error)}`,
        {
          fix: convertCommands(request, found.digest),
          docs: docs.streaming,
        },
      ),
      present: false,
    };
  }
  return { check: conversionState(request, found, head, record), present: false };
}

function conversionState(
  request: DiagnosisRequest,
  found: FoundImage,
  head: string,
  record: ConversionRecord | undefined,
): CheckItem {
  const convert = convertCommands(request, found.digest);
  const follow = `acr-streaming conversions get ${request.image.repository}@${found.digest} --registry ${request.registry.name}`;
  if (record === undefined)
    return check('streaming.artifact', 'fail', `${head}; this app has recorded no conversion of it`, {
      fix: convert,
      docs: docs.streaming,
    });
  const state = `the app's conversion is ${record.status}${record.operationId ? ` (ACR operation ${record.operationId}${record.progress ? `, ${record.progress}` : ''})` : ''}`;
  const failure = record.lastErrorCode
    ? `; last failure ${record.lastErrorCode}${record.lastErrorMessage ? `: ${record.lastErrorMessage}` : ''}` +
      (record.remediation ? `; remediation: ${record.remediation}` : '')
    : '';
  switch (record.status) {
    case 'Pending':
    case 'Running':
      return check('streaming.artifact', 'fail', `${head} yet; ${state}`, {
        fix: `wait for it to finish: ${follow}`,
        docs: docs.streaming,
      });
    case 'Skipped':
      return check('streaming.artifact', 'fail', `${head}; ${state}: ${record.reason}`, {
        fix: convert,
        docs: docs.streaming,
      });
    case 'Succeeded':
      return check(
        'streaming.artifact',
        'fail',
        `${head}; ${state}, but the artifact is gone since (deleted, or the conversion was undone)`,
        { fix: convert, docs: docs.streaming },
      );
    default:
      return check('streaming.artifact', 'fail', `${head}; ${state}${failure || `: ${record.reason}`}`, {
        fix: convert,
        docs: docs.troubleshoot,
      });
  }
}

async function policyCheck(
  request: DiagnosisRequest,
  ports: DiagnosisPorts,
  found: FoundImage,
  readiness: RegistryReadiness,
  streamable: boolean,
): Promise<CheckItem> {
  const { registry, image } = request;
  try {
    const applied = await ports.policies.policyFor(registry.name, image.repository);
    const facts: ImageFacts =
      image.tag && !found.facts.tags.includes(image.tag)
        ? { ...found.facts, tags: [...found.facts.tags, image.tag] }
        : found.facts;
    const decision = decide(applied.policy, facts, readiness);
    const governs = `the policy at scope ${applied.scope} (mode ${applied.policy.mode}) governs ${image.repository}`;
    if (decision.eligible) return check('policy.decision', 'pass', `${governs}: ${decision.reason}`);
    const edit = `acr-streaming policy get ${applied.scope} --registry ${registry.name}; then acr-streaming policy patch ${applied.scope} --registry ${registry.name} --data '{…}'`;
    const owned = ['policy-off', 'tag-not-included', 'tag-excluded', 'untagged'].includes(decision.skip);
    return check(
      'policy.decision',
      streamable ? 'warn' : 'fail',
      `${governs}: ${decision.reason}` +
        (streamable ? ' (the image streams already; a new push of it would not be converted by this app)' : ''),
      owned ? { fix: edit } : {},
    );
  } catch (error) {
    return check('policy.decision', 'warn', `the policies could not be read: ${describeError(error)}`);
  }
}

async function policyWithoutImage(request: DiagnosisRequest, ports: DiagnosisPorts): Promise<CheckItem> {
  try {
    const applied = await ports.policies.policyFor(request.registry.name, request.image.repository);
    return check(
      'policy.decision',
      'skipped',
      `the image was not found (image.exists); the policy at scope ${applied.scope} (mode ${applied.policy.mode}) governs ${request.image.repository}`,
    );
  } catch {
    return check('policy.decision', 'skipped', 'the image was not found (image.exists)');
  }
}

const regcredNote =
  'Kubernetes image pull secrets (regcred, imagePullSecrets) are not supported by artifact streaming: the kubelet ' +
  "identity's role on the registry is what lets nodes stream";

async function clusterChecks(
  request: DiagnosisRequest,
  ports: DiagnosisPorts,
  readiness: RegistryReadiness,
): Promise<CheckItem[]> {
  const ids = ['cluster.pull', 'cluster.network', 'cluster.pools', 'cluster.region'] as const;
  const skipAll = (why: string, status: CheckStatus = 'skipped'): CheckItem[] =>
    ids.map((id) => check(id, status, why));
  if (request.cluster === undefined) return skipAll('no cluster was named (cluster=<AKS resource id>)');
  const consumers = ports.consumers;
  if (consumers === undefined)
    return skipAll(
      'this deployment reads no AKS clusters from ARM (no consumer source is configured), so the cluster checks were not made',
    );
  let cluster: ClusterView | undefined;
  try {
    cluster = await consumers.cluster(request.cluster);
  } catch (error) {
    return skipAll(
      `ARM refused or failed to read ${request.cluster}: ${describeError(error)}; grant the app's identity Reader on the cluster`,
      'warn',
    );
  }
  if (cluster === undefined)
    return [
      check('cluster.pull', 'warn', `ARM has no cluster ${request.cluster} (404), or the app may not see it`),
      ...ids.slice(1).map((id) => check(id, 'skipped', 'the cluster was not found (cluster.pull)')),
    ];
  const registryId = request.registry.resourceId;
  let network: RegistryNetworkView | undefined;
  let networkError = '';
  try {
    network = await consumers.registry(registryId);
  } catch (error) {
    networkError = describeError(error);
  }
  const objectId = cluster.kubeletIdentity?.objectId;
  let grants: RoleGrantView[] | undefined;
  if (objectId !== undefined) {
    try {
      grants = (await consumers.grants(registryId, [objectId])).get(objectId) ?? [];
    } catch {
      grants = undefined;
    }
  }
  if (network === undefined) {
    const why = `the registry's ARM properties could not be read (${networkError}); grant the app Reader on ${request.registry.name}`;
    return [
      pullFromGrants(cluster, request.registry, grants, readiness.permissionsMode),
      check('cluster.network', 'warn', why),
      check('cluster.pools', 'warn', why),
      check('cluster.region', 'warn', why),
    ];
  }
  const verdict = classifyCluster({
    cluster,
    registry: network,
    registryName: request.registry.name,
    grants,
    now: ports.now(),
  });
  return [
    pullCheck(verdict, cluster),
    networkCheck(cluster, network),
    poolsCheck(verdict),
    regionCheck(verdict, network),
  ];
}

/** cluster.pull when the registry's network view is unknown: from the grants and the readiness' role mode. */
function pullFromGrants(
  cluster: ClusterView,
  registry: RegistrySettings,
  grants: readonly RoleGrantView[] | undefined,
  roleAssignmentMode: string | undefined,
): CheckItem {
  const names = `--resource-group ${cluster.resourceGroup} --name ${cluster.name}`;
  if (grants === undefined || cluster.kubeletIdentity?.objectId === undefined)
    return check(
      'cluster.pull',
      'warn',
      `the kubelet identity's roles on ${registry.name} could not be read. ${regcredNote}`,
      {
        fix: `az aks check-acr ${names} --acr ${registry.loginServer}`,
        docs: docs.attach,
      },
    );
  const roles = pullRoles(grants, roleAssignmentMode);
  return roles.length > 0
    ? check('cluster.pull', 'pass', `the kubelet identity holds ${roles.join('; ')}. ${regcredNote}`, {
        docs: docs.attach,
      })
    : check(
        'cluster.pull',
        'fail',
        `the kubelet identity holds no role with pull on ${registry.name}. ${regcredNote}`,
        {
          fix: `az aks update ${names} --attach-acr ${registry.resourceId}`,
          docs: docs.attach,
        },
      );
}

function pullCheck(verdict: ClusterVerdict, cluster: ClusterView): CheckItem {
  const identity = cluster.kubeletIdentity?.objectId ?? 'none';
  switch (verdict.pull) {
    case 'granted':
      return check(
        'cluster.pull',
        'pass',
        `kubelet identity ${identity} holds ${verdict.pullRoles.join('; ')}. ${regcredNote}`,
        { docs: docs.attach },
      );
    case 'missing':
      return check('cluster.pull', 'fail', `${verdict.reason ?? 'no role with pull'}. ${regcredNote}`, {
        ...(verdict.fix ? { fix: verdict.fix } : {}),
        docs: docs.attach,
      });
    case 'unknown':
      return check('cluster.pull', 'warn', `${verdict.reason ?? 'the roles could not be read'}. ${regcredNote}`, {
        ...(verdict.fix ? { fix: verdict.fix } : {}),
        docs: docs.attach,
      });
  }
}

/**
 * Whether the cluster's nodes can reach the registry: through a private endpoint in a pool's virtual network, or
 * through the public endpoint when public access is on and the IP rules (when the default action is Deny) admit the
 * cluster's outbound addresses. IP rules do not apply to private endpoints (Microsoft Learn, "Configure public IP
 * network rules"); with public access disabled only private endpoints reach it (seed 002). A private endpoint in
 * another virtual network may still serve the cluster through peering, which ARM's views here do not show: `warn`.
 */
export function networkCheck(cluster: ClusterView, registry: RegistryNetworkView): CheckItem {
  const endpoints = registry.privateEndpoints.filter(
    (endpoint) => endpoint.status === undefined || endpoint.status.toLowerCase() === 'approved',
  );
  const endpointNetworks = new Map<string, string>();
  for (const endpoint of endpoints) {
    const vnet = virtualNetworkOf(endpoint.subnetId);
    if (vnet !== undefined) endpointNetworks.set(vnet, endpoint.id);
  }
  const poolNetworks = new Map<string, string | undefined>(
    cluster.pools.map((pool) => [pool.name, virtualNetworkOf(pool.vnetSubnetId)]),
  );
  const poolsWithout = [...poolNetworks].filter(([, vnet]) => vnet === undefined || !endpointNetworks.has(vnet));
  const privatelyServed = cluster.pools.length > 0 && poolsWithout.length === 0;
  const publicAccess = registry.publicNetworkAccess ?? 'Enabled';
  const peName = `${registry.name}-${cluster.name}-pe`.slice(0, 80);
  const firstPoolVnet = [...poolNetworks.values()].find((vnet) => vnet !== undefined);
  const createEndpoint = (vnet: string | undefined): string =>
    `az network private-endpoint create --resource-group ${(vnet && resourceGroupOf(vnet)) ?? cluster.resourceGroup} ` +
    `--name ${peName} --vnet-name ${vnet ? virtualNetworkName(vnet) : "<the pools' virtual network>"} --subnet <subnet> ` +
    `--private-connection-resource-id ${registry.id} --group-ids registry --connection-name ${peName}` +
    ' (then link the privatelink.azurecr.io private DNS zone to that virtual network)';
  const endpointsText =
    endpoints.length === 0
      ? 'no approved private endpoint'
      : `approved private endpoints in ${[...endpointNetworks.keys()].map(virtualNetworkName).join(', ') || 'unread subnets'}`;
  const poolsText = [...poolNetworks]
    .map(([pool, vnet]) => `${pool}: ${vnet ? virtualNetworkName(vnet) : 'AKS-managed virtual network'}`)
    .join(', ');
  if (privatelyServed)
    return check(
      'cluster.network',
      'pass',
      `every pool's virtual network has an approved private endpoint of ${registry.name} (${poolsText})`,
      { docs: docs.privateLink },
    );
  if (publicAccess.toLowerCase() === 'disabled') {
    const evidence = `public network access is Disabled; ${endpointsText}; pools: ${poolsText}`;
    if (endpoints.length === 0)
      return check('cluster.network', 'fail', `${evidence}: nothing reaches ${registry.name}`, {
        fix: createEndpoint(firstPoolVnet),
        docs: docs.privateLink,
      });
    return check(
      'cluster.network',
      'warn',
      `${evidence}: the pools ${poolsWithout.map(([pool]) => pool).join(', ')} reach it only if their virtual network is ` +
        "peered with an endpoint's and the privatelink.azurecr.io zone is linked to it, which was not checked",
      { fix: createEndpoint(firstPoolVnet), docs: docs.privateLink },
    );
  }
  const rules = registry.networkRuleSet;
  if (rules === undefined || (rules.defaultAction ?? 'Allow').toLowerCase() !== 'deny')
    return check(
      'cluster.network',
      'pass',
      `public network access is ${publicAccess} and the default action ${rules?.defaultAction ?? 'Allow'}: any network may reach ${registry.name}`,
      { docs: docs.ipRules },
    );
  const allowed = rules.ipRules
    .filter((rule) => (rule.action ?? 'Allow').toLowerCase() === 'allow')
    .map((r) => r.value);
  const ruleText = allowed.length > 0 ? `IP rules ${allowed.join(', ')}` : 'no IP rules';
  const outbound = cluster.outboundIpAddresses;
  if (outbound === undefined || outbound.length === 0)
    return check(
      'cluster.network',
      'warn',
      `public network access is ${publicAccess} with default action Deny and ${ruleText}; the cluster's outbound ` +
        `addresses could not be read (outbound type ${cluster.outboundType ?? 'unknown'}), so whether the rules admit them is unknown`,
      {
        fix: `az acr network-rule add --name ${registry.name} --ip-address <the cluster's egress address>`,
        docs: docs.ipRules,
      },
    );
  const refused = outbound.filter((address) => !allowed.some((rule) => cidrContains(rule, address)));
  if (refused.length === 0)
    return check(
      'cluster.network',
      'pass',
      `default action Deny; the cluster's outbound addresses ${outbound.join(', ')} are within ${ruleText}`,
      { docs: docs.ipRules },
    );
  return check(
    'cluster.network',
    'fail',
    `default action Deny with ${ruleText}; the cluster's outbound addresses ${refused.join(', ')} are outside them`,
    {
      fix: refused
        .map((address) => `az acr network-rule add --name ${registry.name} --ip-address ${address}`)
        .join('; '),
      docs: docs.ipRules,
    },
  );
}

function poolsCheck(verdict: ClusterVerdict): CheckItem {
  const pools = verdict.pools;
  if (pools.length === 0) return check('cluster.pools', 'warn', 'ARM lists no node pools for the cluster');
  const lines = pools.map((pool) => {
    const shape = [
      pool.vmSize,
      pool.osSku,
      pool.kubernetesVersion && `Kubernetes ${pool.kubernetesVersion}`,
      `${pool.nodes} nodes`,
    ]
      .filter(Boolean)
      .join(', ');
    return pool.canStream
      ? `${pool.name} (${shape}): can stream`
      : `${pool.name} (${shape}): cannot stream: ${pool.reasons.map((reason) => reason.message).join('; ')}`;
  });
  const capable = pools.filter((pool) => pool.canStream);
  const fixes = [...new Set(pools.flatMap((pool) => pool.reasons.map((reason) => reason.fix)))];
  const status: CheckStatus = capable.length === pools.length ? 'pass' : capable.length > 0 ? 'warn' : 'fail';
  const placement =
    status === 'warn'
      ? `; pods stream only on ${capable.map((pool) => pool.name).join(', ')} (schedule them there with a nodeSelector)`
      : '';
  return check('cluster.pools', status, lines.join('. ') + placement, {
    ...(fixes.length > 0 ? { fix: fixes.join('\n') } : {}),
    docs: docs.aksStreaming,
  });
}

function regionCheck(verdict: ClusterVerdict, registry: RegistryNetworkView): CheckItem {
  const replicas = registry.replicaLocations.length > 0 ? registry.replicaLocations.join(', ') : 'none';
  const evidence = `the cluster is in ${verdict.location}; ${registry.name} is in ${registry.location} with replicas in ${replicas}`;
  return verdict.regionServed
    ? check('cluster.region', 'pass', evidence, { docs: docs.replication })
    : // Advice, not a failure: streaming works across regions (lib/consumers/classify.ts cites Microsoft Learn).
      check('cluster.region', 'warn', `${evidence}: the nodes stream across regions, slower than from a replica`, {
        fix: `az acr replication create --registry ${registry.name} --location ${verdict.location}`,
        docs: docs.replication,
      });
}

/** The seeds' notes (../shared/seeds/000 "Troubleshoot Artifact Streaming", 003 "AKS Integration"), always present. */
function notes(registry: RegistrySettings, image: DiagnosisRequest['image']): CheckItem[] {
  const byTag = `${registry.loginServer}/${image.repository}:${image.tag ?? '<tag>'}`;
  return [
    check(
      'note.digest-deployments',
      'info',
      // The two Microsoft pages disagree: the 2023 troubleshooting guide (seed 000) says a digest deployment may
      // still stream; the current AKS overview says streaming "only supports image pulls by tag". Both are said.
      'Deploy by tag to stream: the AKS Artifact Streaming overview says it "only supports image pulls by tag" and ' +
        'resolves a tag to the streaming variant, so a pod deployed by digest (image: repository@sha256:…) does not ' +
        'stream. The older troubleshooting guide says such a pod shows no streaming events and may still start ' +
        `fast; either way, ${byTag} is the reference that streams and shows it in the pod's events.`,
      { docs: 'https://learn.microsoft.com/azure/aks/artifact-streaming-overview' },
    ),
    check(
      'note.upgrade-if-streamable-disabled',
      'info',
      'A pod condition UpgradeIfStreamableDisabled means the image is not from an Azure Container Registry ' +
        `(azurecr.io) or a streaming issue was detected: check that the pod's image names ${registry.loginServer}.`,
      { fix: 'kubectl describe pod <pod> (Conditions and Events)', docs: docs.troubleshoot },
    ),
    check(
      'note.node-logs',
      'info',
      "On a node, the ACR mirror's, the node monitor's and the overlaybd driver's logs show what streaming did.",
      {
        fix:
          'kubectl debug nodes/<node> -it --image ubuntu; then chroot /host; journalctl -u acr-mirror; ' +
          'journalctl -u acr-nodemon; more /var/log/overlaybd.log',
        docs: docs.troubleshoot,
      },
    ),
  ];
}
