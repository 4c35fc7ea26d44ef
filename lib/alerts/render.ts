import type { AlertEvent } from './events.js';
import type { AdaptiveCard, TeamsMessage, WebhookBody } from './payloads.js';

export interface LinkContext {
  /** ARM id of the registry, for the portal link. */
  readonly registryResourceId?: string;
  /** This app's public base URL, for a link to the conversion record. */
  readonly appBaseUrl?: string;
}

/** A summary of a burst: the events it stands for, capped so the message stays small. */
export interface Summary {
  readonly id: string;
  readonly type: AlertEvent['type'];
  readonly registry: string;
  readonly time: string;
  readonly events: readonly AlertEvent[];
  readonly omitted: number;
}

/**
 * Teams rejects messages over ~28 KB (an observed limit, not a documented one: docs/sources.md); stay well under it.
 */
export const maxTeamsBytes = 27 * 1024;
const maxListed = 50;

/**
 * The buttons of an alert (and the webhook's `links`): the registry in the portal when its ARM id is known, and,
 * under APP_BASE_URL, what the alert is about — the conversion record of a conversion's outcome, the very report a
 * `report.ready` announces (`GET /api/reports/{id}`: the latest may be newer by the time someone clicks), the
 * registry's latest report for an audit finding. Titles are short: Teams shows them on one button each.
 */
export function linksFor(
  event: Pick<AlertEvent, 'registry' | 'repository' | 'digest'> & Partial<Pick<AlertEvent, 'type' | 'facts'>>,
  context: LinkContext,
): Array<{ title: string; url: string }> {
  const links: Array<{ title: string; url: string }> = [];
  if (context.registryResourceId)
    links.push({
      title: 'Open the registry in the Azure portal',
      url: `https://portal.azure.com/#@/resource${context.registryResourceId}/repositories`,
    });
  const clusterId = event.type?.startsWith('consumer.') ? event.facts?.[clusterIdFact] : undefined;
  if (clusterId?.startsWith('/subscriptions/'))
    links.push({
      title: 'Open the cluster in the Azure portal',
      url: `https://portal.azure.com/#@/resource${clusterId}`,
    });
  const base = context.appBaseUrl;
  if (base === undefined) return links;
  if (event.repository && event.digest) {
    links.push({
      title: 'Open the conversion record',
      url: `${base}/api/registries/${encodeURIComponent(event.registry)}/conversions/${event.digest}?repository=${encodeURIComponent(event.repository)}`,
    });
  }
  const reportId = event.facts?.[reportIdFact];
  if (event.type === 'report.ready' && reportId !== undefined)
    links.push({ title: 'Open the report', url: `${base}/api/reports/${encodeURIComponent(reportId)}?format=html` });
  if (event.type === 'audit.missingStreamingArtifacts' || event.type?.startsWith('consumer.'))
    links.push({
      title: 'Open the latest report',
      url: `${base}/api/reports/latest?format=html&registry=${encodeURIComponent(event.registry)}`,
    });
  return links;
}

/** The facts consumer alerts name their cluster and pool by (lib/consumers/audit.ts writes them). */
export const clusterFact = 'Cluster';
export const clusterIdFact = 'Cluster ID';
export const poolFact = 'Node pool';

/** The fact a `report.ready` event names its report by (lib/reports/service.ts writes it). */
export const reportIdFact = 'Report id';

export function webhookBody(deliveryId: string, event: AlertEvent, context: LinkContext): WebhookBody {
  return {
    schemaVersion: '1',
    id: deliveryId,
    type: event.type,
    severity: event.severity,
    time: event.time,
    registry: event.registry,
    ...optional(event),
    message: event.message,
    ...(event.remediation ? { remediation: event.remediation } : {}),
    links: linksFor(event, context),
  };
}

export function summaryWebhookBody(deliveryId: string, summary: Summary, context: LinkContext): WebhookBody {
  const listed = summary.events.slice(0, maxListed);
  return {
    schemaVersion: '1',
    id: deliveryId,
    type: 'alerts.summary',
    severity: listed[0]?.severity ?? 'warning',
    time: summary.time,
    registry: summary.registry,
    message: summaryTitle(summary),
    ...(listed[0]?.remediation ? { remediation: listed[0].remediation } : {}),
    links: linksFor({ registry: summary.registry, type: summary.type }, context),
    events: listed.map((event) => ({
      type: event.type,
      time: event.time,
      ...(event.repository ? { repository: event.repository } : {}),
      ...(event.digest ? { digest: event.digest } : {}),
      ...(event.errorCode ? { errorCode: event.errorCode } : {}),
    })),
    omitted: summary.omitted + Math.max(0, summary.events.length - maxListed),
  };
}

export function teamsMessage(event: AlertEvent, context: LinkContext): TeamsMessage {
  const facts = [
    ['Registry', event.registry],
    ['Repository', event.repository],
    ['Tag', event.tag],
    ['Digest', event.digest ? `${event.digest.slice(0, 19)}…` : undefined],
    ['Operation id', event.operationId],
    ['Attempts', event.attempts === undefined ? undefined : String(event.attempts)],
    ['Error code', event.errorCode],
    ...Object.entries(event.facts ?? {}),
  ].filter((fact): fact is [string, string] => fact[1] !== undefined);
  const body: Array<Record<string, unknown>> = [
    {
      type: 'TextBlock',
      text: titleOf(event),
      weight: 'Bolder',
      size: 'Medium',
      wrap: true,
      color: event.severity === 'error' ? 'Attention' : event.severity === 'warning' ? 'Warning' : 'Good',
    },
    { type: 'TextBlock', text: truncate(event.message, 2_000), wrap: true },
    { type: 'FactSet', facts: facts.map(([title, value]) => ({ title, value: truncate(value, 300) })) },
  ];
  if (event.remediation) {
    body.push(
      { type: 'TextBlock', text: 'What to do', weight: 'Bolder', spacing: 'Medium', wrap: true },
      { type: 'TextBlock', text: truncate(event.remediation, 4_000), wrap: true },
    );
  }
  return envelope(body, linksFor(event, context));
}

export function summaryTeamsMessage(summary: Summary, context: LinkContext): TeamsMessage {
  const lines = summary.events
    .slice(0, maxListed)
    .map(
      (event) =>
        `- ${event.repository ?? ''}${event.digest ? `@${event.digest.slice(7, 19)}` : ''}${event.errorCode ? ` — ${event.errorCode}` : ''}`,
    );
  const omitted = summary.omitted + Math.max(0, summary.events.length - maxListed);
  const body: Array<Record<string, unknown>> = [
    {
      type: 'TextBlock',
      text: summaryTitle(summary),
      weight: 'Bolder',
      size: 'Medium',
      wrap: true,
      color: 'Attention',
    },
    {
      type: 'TextBlock',
      text:
        lines.join('\n') +
        (omitted > 0 ? `\n- … and ${omitted} more (GET /api/alerts?status=summarized lists them)` : ''),
      wrap: true,
    },
  ];
  const remediation = summary.events[0]?.remediation;
  if (remediation)
    body.push(
      { type: 'TextBlock', text: 'What to do', weight: 'Bolder', wrap: true },
      { type: 'TextBlock', text: truncate(remediation, 2_000), wrap: true },
    );
  let message = envelope(body, linksFor({ registry: summary.registry, type: summary.type }, context));
  // Long repository names can still push a 50-line list over Teams' limit: drop lines until it fits.
  while (Buffer.byteLength(JSON.stringify(message)) > maxTeamsBytes && lines.length > 1) {
    lines.splice(Math.floor(lines.length / 2));
    body[1] = {
      type: 'TextBlock',
      text: `${lines.join('\n')}\n- … and more (GET /api/alerts?status=summarized lists them)`,
      wrap: true,
    };
    message = envelope(body, linksFor({ registry: summary.registry, type: summary.type }, context));
  }
  return message;
}

function envelope(body: Array<Record<string, unknown>>, links: Array<{ title: string; url: string }>): TeamsMessage {
  const content: AdaptiveCard = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body,
    ...(links.length > 0
      ? { actions: links.map((link) => ({ type: 'Action.OpenUrl' as const, title: link.title, url: link.url })) }
      : {}),
  };
  return {
    type: 'message',
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content }],
  };
}

const titles: Record<AlertEvent['type'], string> = {
  'conversion.failed': 'Streaming conversion failed',
  'conversion.timedOut': 'Streaming conversion timed out',
  'conversion.canceled': 'Streaming conversion canceled',
  'conversion.succeeded': 'Image is streamable',
  'audit.missingStreamingArtifacts': 'Images missing their streaming artifact',
  'connectedRegistry.stale': 'Connected registry is stale',
  'connectedRegistry.unhealthy': 'Connected registry is unhealthy',
  'connectedRegistry.recovered': 'Connected registry recovered',
  'consumer.cannotStream': 'Node pool can no longer stream',
  'consumer.pullLost': 'Cluster can no longer pull',
  'consumer.recovered': 'Consumer recovered',
  'policy.drift': 'ACR setting drifted from the policy',
  'report.ready': 'Compliance report ready',
  'alerts.summary': 'Alert summary',
};

function titleOf(event: AlertEvent): string {
  // Consumer alerts are about a cluster (and a pool of it), not a repository: the producer names both in the facts.
  const cluster = event.type.startsWith('consumer.') ? event.facts?.[clusterFact] : undefined;
  const pool = cluster === undefined ? undefined : event.facts?.[poolFact];
  const subject = cluster === undefined ? undefined : `${cluster}${pool ? `/${pool}` : ''} ← ${event.registry}`;
  return `${titles[event.type]}: ${subject ?? event.repository ?? event.registry}`;
}

function summaryTitle(summary: Summary): string {
  const count = summary.events.length + summary.omitted;
  return `${count} × ${titles[summary.type].toLowerCase()} in ${summary.registry}`;
}

function optional(event: AlertEvent): Partial<WebhookBody> {
  return {
    ...(event.repository ? { repository: event.repository } : {}),
    ...(event.tag ? { tag: event.tag } : {}),
    ...(event.digest ? { digest: event.digest } : {}),
    ...(event.operationId ? { operationId: event.operationId } : {}),
    ...(event.status ? { status: event.status } : {}),
    ...(event.errorCode ? { errorCode: event.errorCode } : {}),
    ...(event.attempts !== undefined ? { attempts: event.attempts } : {}),
  };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
