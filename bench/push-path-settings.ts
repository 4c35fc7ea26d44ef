const never = '0 0 0 1 1 *';

/**
 * App settings for benchmarks of the push path: the first tracking poll an hour away and every timer parked, so
 * only the event path (and the start retries it queues) touches ACR and storage.
 */
export const pushPathSettings: Readonly<Record<string, string>> = {
  TRACKING_FIRST_POLL_SECONDS: '3600',
  SWEEPER_SCHEDULE: never,
  ALERT_RELAY_SCHEDULE: never,
  AUDIT_SCHEDULE: never,
  CONNECTED_AUDIT_SCHEDULE: never,
  CONSUMER_AUDIT_SCHEDULE: never,
  REPORT_SCHEDULE: never,
};
