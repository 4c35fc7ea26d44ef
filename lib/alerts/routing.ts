import type { ChannelSettings } from './settings.js';
import type { Policy } from '../policy/model.js';
import { severityRank, type AlertEvent } from './events.js';
import { alertEventTypes } from './payloads.js';

/** Event types a channel gets when its configuration does not list them: everything but successes (and summaries). */
const defaultChannelEvents = new Set<string>(
  alertEventTypes.filter((type) => type !== 'conversion.succeeded' && type !== 'alerts.summary'),
);

/**
 * The channels an event goes to: the operator's channel filters (event types, minimum severity) always apply;
 * for events about a repository, its policy may narrow further — `alerts.channels` and `alerts.events`, when not
 * empty, pick channels by name and event types. A policy can never add a channel the operator did not configure.
 */
export function routeAlert(
  event: AlertEvent,
  channels: readonly ChannelSettings[],
  policy: Policy | undefined,
): ChannelSettings[] {
  return channels.filter((channel) => {
    const types = channel.events ? new Set<string>(channel.events) : defaultChannelEvents;
    if (!types.has(event.type)) return false;
    // Recoveries close an earlier alert and a report announces itself: both pass whatever the minimum severity.
    if (
      severityRank[event.severity] < severityRank[channel.minSeverity] &&
      event.type !== 'connectedRegistry.recovered' &&
      event.type !== 'consumer.recovered' &&
      event.type !== 'report.ready'
    )
      return false;
    if (policy === undefined || event.repository === undefined) return true;
    if (policy.alerts.channels.length > 0 && !policy.alerts.channels.includes(channel.name)) return false;
    return policy.alerts.events.length === 0 || policy.alerts.events.includes(event.type);
  });
}
