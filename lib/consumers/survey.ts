import type { RegistrySettings } from '../core/registries.js';
import { classifyCluster } from './classify.js';
import type { ClusterVerdict, ClusterView, ConsumerSource, PullState, RoleGrantView } from './model.js';

/**
 * One look at who can pull and stream from a registry (issue #20 §1): the registry read once, the clusters of every
 * scope listed, the kubelet identities' grants read in one call, every cluster classified. What could not be read is
 * said, never fatal: a scope the app may not list, a grants call ARM refused, a cluster that failed to classify.
 */
export interface ConsumerSurvey {
  readonly registry: string;
  readonly scope: readonly string[];
  /** Every cluster found in scope: those that pull first (granted, then unknown), then those without pull. */
  readonly clusters: ClusterVerdict[];
  /** What could not be read, and what to grant: one sentence each. */
  readonly unreadable: string[];
  /**
   * Whether every scope was listed to the end: only then is a cluster missing from `clusters` known to be gone (the
   * audit deletes the state of such clusters, never after a partial listing).
   */
  readonly complete: boolean;
}

/**
 * The HTTP status of an ARM error, if it has one: the ARM SDKs throw @azure/core-rest-pipeline's RestError, whose
 * `statusCode` is the response's status (node_modules/@azure/core-rest-pipeline/dist/commonjs/restError.d.ts). Read
 * structurally, so this domain imports no SDK.
 */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return undefined;
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 300);
}

/** The registry's ARM name (the last segment of its resource ID), which `az acr` commands take. */
export function registryArmName(registry: RegistrySettings): string {
  return registry.resourceId.split('/').pop() ?? registry.name;
}

const pullOrder: Record<PullState, number> = { granted: 0, unknown: 1, missing: 2 };

/** Pullers first, then by name (and ID, for two clusters of one name in different groups). */
export function byConsumerOrder(a: ClusterVerdict, b: ClusterVerdict): number {
  return pullOrder[a.pull] - pullOrder[b.pull] || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
}

export async function surveyConsumers(
  registry: RegistrySettings,
  source: ConsumerSource,
  scope: readonly string[],
  now: Date,
): Promise<ConsumerSurvey> {
  const unreadable: string[] = [];
  const survey = (clusters: ClusterVerdict[], complete: boolean): ConsumerSurvey => ({
    registry: registry.name,
    scope: [...scope],
    clusters: clusters.sort(byConsumerOrder),
    unreadable,
    complete,
  });
  let view;
  try {
    view = await source.registry(registry.resourceId);
  } catch (error) {
    // Without the registry's region, replicas and role-assignment mode no cluster can be judged against it.
    unreadable.push(
      `could not read the registry ${registry.name} from ARM (${describe(error)}): grant this app Reader on ${registry.resourceId}`,
    );
    return survey([], false);
  }

  // Scope by scope, so one the app may not list costs only its own clusters; ARM IDs are case-insensitive, and
  // overlapping scopes (a subscription and a resource group in it) list a cluster twice.
  const clusters = new Map<string, ClusterView>();
  let complete = true;
  for (const entry of scope) {
    try {
      for await (const cluster of source.clusters([entry])) clusters.set(cluster.id.toLowerCase(), cluster);
    } catch (error) {
      complete = false;
      unreadable.push(
        statusOf(error) === 403
          ? `could not read clusters in ${entry}: grant this app Reader on ${entry}`
          : `could not read clusters in ${entry} (${describe(error)})`,
      );
    }
  }

  const principals = [...new Set([...clusters.values()].flatMap((cluster) => cluster.kubeletIdentity?.objectId ?? []))];
  let grants: Map<string, RoleGrantView[]> | undefined = new Map();
  if (principals.length > 0) {
    try {
      grants = await source.grants(registry.resourceId, principals);
    } catch (error) {
      grants = undefined;
      unreadable.push(
        `could not read the role assignments on ${registry.name} (${describe(error)}): whether clusters may pull is ` +
          `unknown; grant this app Reader on ${registry.resourceId}`,
      );
    }
  }

  const verdicts: ClusterVerdict[] = [];
  for (const cluster of clusters.values()) {
    try {
      const objectId = cluster.kubeletIdentity?.objectId;
      verdicts.push(
        classifyCluster({
          cluster,
          registry: view,
          registryName: registryArmName(registry),
          // A principal with no assignment is absent from the map: it holds nothing, which is a known answer.
          grants: grants === undefined ? undefined : objectId === undefined ? [] : (grants.get(objectId) ?? []),
          now,
        }),
      );
    } catch (error) {
      unreadable.push(`could not classify cluster ${cluster.id} (${describe(error)})`);
    }
  }
  return survey(verdicts, complete);
}
