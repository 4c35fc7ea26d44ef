import picomatch from 'picomatch';
import type { Policy } from './model.js';

/** What the pipeline knows about a pushed manifest when it decides. */
export interface ImageFacts {
  readonly repository: string;
  /** Tags the digest carries (from the event and the registry); empty when pushed by digest only. */
  readonly tags: readonly string[];
  readonly kind: 'image' | 'index' | 'referrer' | 'helm-chart' | 'artifact';
  /** For an image its platform; for an index, its children's. */
  readonly platforms: ReadonlyArray<{ readonly os: string; readonly architecture: string }>;
  readonly sizeBytes: number | undefined;
}

export interface RegistryReadiness {
  readonly ready: boolean;
  /** Why conversions cannot work here (SKU, customer-managed keys), when not ready. */
  readonly reason?: string;
  /** What ARM said, when it could be read (for reports). */
  readonly sku?: string;
  readonly customerManagedKey?: boolean;
  /**
   * The registry's role-assignment mode (ARM `roleAssignmentMode`), which decides the roles that grant data-plane
   * access: AcrPush in `LegacyRegistryPermissions`, the repository roles in `AbacRepositoryPermissions`
   * (docs/sources.md § ACR roles and repository permissions). Lets a refusal name the one role that helps.
   */
  readonly permissionsMode?: string;
  /**
   * Why readiness could not be read (ARM refused or failed); `ready` is then assumed, so conversions are attempted
   * and ACR decides. Health and the report say so.
   */
  readonly unknown?: string;
}

export type SkipReason =
  | 'policy-off'
  | 'native-mode'
  | 'tag-not-included'
  | 'tag-excluded'
  | 'untagged'
  | 'referrer'
  | 'helm-chart'
  | 'not-an-image'
  | 'unsupported-platform'
  | 'too-large'
  | 'registry-not-ready';

export type Decision =
  | { readonly eligible: true; readonly reason: string }
  | { readonly eligible: false; readonly skip: SkipReason; readonly reason: string };

const gib = 1024 ** 3;

/** Options for callers that convert by hand: tag rules are the owner's to bypass, ACR's limits are not. */
export interface DecideOptions {
  readonly ignoreTagRules?: boolean;
  /** Attempt even when the platform looks unsupported (ACR then fails it with UNSUPPORTED_PLATFORM). */
  readonly ignorePlatform?: boolean;
  /** A push event (not a backfill or a request by hand): in native mode ACR converts pushes itself. */
  readonly push?: boolean;
}

/**
 * Whether a manifest should become streamable under a policy, with a reason a person can act on. Pure: every
 * input is a parameter, so the same function serves pushes, audits, backfill and the evaluation endpoint.
 */
export function decide(
  policy: Policy,
  image: ImageFacts,
  readiness: RegistryReadiness,
  options: DecideOptions = {},
): Decision {
  if (image.kind === 'referrer')
    return skip('referrer', 'a referrer (signature, SBOM or streaming artifact) is never converted');
  // "not an image" first: the report's reader scans for it (issue #18 § 5), never "unknown platform" for a chart.
  if (image.kind === 'helm-chart')
    return skip('helm-chart', 'not an image: a Helm chart (artifact streaming converts container images only)');
  if (image.kind === 'artifact')
    return skip('not-an-image', 'not an image: an OCI artifact (artifact streaming converts container images only)');
  if (!options.ignoreTagRules) {
    if (policy.mode === 'off') return skip('policy-off', 'the policy for this repository is off');
    if (policy.mode === 'native' && options.push)
      return skip('native-mode', 'mode native: ACR converts new pushes of this repository itself');
    const tagDecision = decideTags(policy, image.tags);
    if (tagDecision) return tagDecision;
  }
  if (!options.ignorePlatform && !image.platforms.some(isLinuxAmd64)) {
    const found = image.platforms.map((p) => `${p.os}/${p.architecture}`).join(', ') || 'unknown';
    return skip(
      'unsupported-platform',
      image.kind === 'index'
        ? `the index has no linux/amd64 image (found ${found}); artifact streaming supports linux/amd64 only`
        : `the image is ${found}; artifact streaming supports linux/amd64 only`,
    );
  }
  if (image.sizeBytes !== undefined && image.sizeBytes > policy.maxImageSizeGiB * gib) {
    return skip(
      'too-large',
      `the image is ${(image.sizeBytes / gib).toFixed(1)} GiB, over the ${policy.maxImageSizeGiB} GiB limit`,
    );
  }
  if (!readiness.ready) return skip('registry-not-ready', readiness.reason ?? 'the registry cannot convert images');
  return {
    eligible: true,
    reason: image.kind === 'index' ? 'eligible: the index has a linux/amd64 image' : 'eligible',
  };
}

function decideTags(policy: Policy, tags: readonly string[]): Decision | undefined {
  if (tags.length === 0)
    return policy.untagged
      ? undefined
      : skip('untagged', 'pushed without a tag and the policy leaves untagged pushes alone');
  const included = tags.filter((tag) => matches(policy.tags.include, tag));
  if (included.length === 0)
    return skip(
      'tag-not-included',
      `no tag (${tags.join(', ')}) matches include ${JSON.stringify(policy.tags.include)}`,
    );
  const kept = included.filter((tag) => !matches(policy.tags.exclude, tag));
  if (kept.length === 0)
    return skip('tag-excluded', `tag ${included.join(', ')} matches exclude ${JSON.stringify(policy.tags.exclude)}`);
  return undefined;
}

const matcherCache = new Map<string, picomatch.Matcher>();

function matches(patterns: readonly string[], value: string): boolean {
  return patterns.some((pattern) => {
    let matcher = matcherCache.get(pattern);
    if (matcher === undefined) {
      matcher = picomatch(pattern, { dot: true });
      matcherCache.set(pattern, matcher);
    }
    return matcher(value);
  });
}

export function isLinuxAmd64(platform: { readonly os: string; readonly architecture: string }): boolean {
  return platform.os === 'linux' && platform.architecture === 'amd64';
}

function skip(reason: SkipReason, text: string): Decision {
  return { eligible: false, skip: reason, reason: text };
}
