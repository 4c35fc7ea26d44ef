/**
 * CONSUMER_SCOPES entries (issue #20): where the consumer audit looks for AKS clusters. Kept apart from the ARM adapter
 * so configuration can validate them without loading an SDK.
 */
/** A CONSUMER_SCOPES entry: a subscription, a resource group, or one AKS cluster. */
export type ConsumerScope =
  | { readonly kind: 'subscription'; readonly subscriptionId: string }
  | { readonly kind: 'resourceGroup'; readonly subscriptionId: string; readonly resourceGroup: string }
  | {
      readonly kind: 'cluster';
      readonly subscriptionId: string;
      readonly resourceGroup: string;
      readonly name: string;
    };

const SEGMENT = '([^/\\s]+)';
const SUBSCRIPTION = new RegExp(`^/subscriptions/${SEGMENT}/?$`, 'i');
const RESOURCE_GROUP = new RegExp(`^/subscriptions/${SEGMENT}/resourceGroups/${SEGMENT}/?$`, 'i');
const CLUSTER = new RegExp(
  `^/subscriptions/${SEGMENT}/resourceGroups/${SEGMENT}/providers/Microsoft\\.ContainerService/managedClusters/${SEGMENT}/?$`,
  'i',
);

/** Parses one ARM scope; anything but a subscription, resource group or AKS cluster ID is refused with the reason. */
export function parseConsumerScope(scope: string): ConsumerScope {
  const text = scope.trim();
  let m = SUBSCRIPTION.exec(text);
  if (m) return { kind: 'subscription', subscriptionId: m[1]! };
  m = RESOURCE_GROUP.exec(text);
  if (m) return { kind: 'resourceGroup', subscriptionId: m[1]!, resourceGroup: m[2]! };
  m = CLUSTER.exec(text);
  if (m) return { kind: 'cluster', subscriptionId: m[1]!, resourceGroup: m[2]!, name: m[3]! };
  throw new Error(
    `'${scope}' is not a consumer scope: use /subscriptions/{id}, /subscriptions/{id}/resourceGroups/{name} or an ` +
      'AKS cluster ID (/subscriptions/{id}/resourceGroups/{name}/providers/Microsoft.ContainerService/managedClusters/{name})',
  );
}
