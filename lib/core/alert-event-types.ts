/**
 * Every type of alert the app sends. In the kernel because policies name them too (a policy narrows a repository's
 * alerts to some of these, and naming one that does not exist is a 400), and policies may not import the alerts
 * domain.
 */
export const alertEventTypes = [
  'conversion.failed',
  'conversion.timedOut',
  'conversion.canceled',
  'conversion.succeeded',
  'audit.missingStreamingArtifacts',
  'connectedRegistry.stale',
  'connectedRegistry.unhealthy',
  'connectedRegistry.recovered',
  /** A node pool of a cluster that pulls from the registry can no longer stream (issue #20 §1). */
  'consumer.cannotStream',
  /** A cluster that could pull from the registry no longer holds a role that pulls. */
  'consumer.pullLost',
  /** What a consumer alert said is over: the pool streams again, or pull is back. */
  'consumer.recovered',
  'policy.drift',
  'report.ready',
  /** Several events of one type from one registry inside a burst window, collapsed into one message. */
  'alerts.summary',
] as const;
export type AlertEventType = (typeof alertEventTypes)[number];
