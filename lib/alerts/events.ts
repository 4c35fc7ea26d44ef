import { z } from 'zod';
import { forRegistry } from '../core/registries.js';
import { alertEventTypes, type AlertEventType, type Severity } from './payloads.js';

/** An event worth telling someone about, as the outbox carries it (any producer: conversions, policies, audits). */
export interface AlertEvent {
  readonly id: string;
  readonly type: AlertEventType;
  readonly severity: Severity;
  readonly time: string;
  readonly registry: string;
  readonly repository?: string;
  readonly tag?: string;
  readonly digest?: string;
  readonly operationId?: string;
  readonly status?: string;
  readonly errorCode?: string;
  readonly attempts?: number;
  readonly message: string;
  readonly remediation?: string;
  /** Extra facts a producer wants shown (e.g. connected registry name, last activity). */
  readonly facts?: Readonly<Record<string, string>>;
  /** The conversion run an outcome belongs to: a new run's outcome is never a duplicate of the last one's. */
  readonly generation?: string;
}

const severityOf: Record<AlertEventType, Severity> = {
  'conversion.failed': 'error',
  'conversion.timedOut': 'error',
  'conversion.canceled': 'warning',
  'conversion.succeeded': 'info',
  'audit.missingStreamingArtifacts': 'warning',
  'connectedRegistry.stale': 'warning',
  'connectedRegistry.unhealthy': 'error',
  'connectedRegistry.recovered': 'info',
  'consumer.cannotStream': 'warning',
  'consumer.pullLost': 'error',
  'consumer.recovered': 'info',
  'policy.drift': 'warning',
  'report.ready': 'info',
  'alerts.summary': 'warning',
};

const outboxPayload = z.looseObject({
  id: z.string().min(1),
  type: z.enum(alertEventTypes),
  time: z.string(),
  registry: z.string().min(1),
  repository: z.string().optional(),
  tag: z.string().optional(),
  digest: z.string().optional(),
  operationId: z.string().optional(),
  status: z.string().optional(),
  errorCode: z.string().optional(),
  attempts: z.number().optional(),
  message: z.string().optional(),
  remediation: z.string().optional(),
  severity: z.enum(['info', 'warning', 'error']).optional(),
  facts: z.record(z.string(), z.string()).optional(),
  generation: z.string().max(64).optional(),
});

/** Reads an outbox payload; undefined (with the reason) when it is not an event this version knows. */
export function toAlertEvent(payload: unknown): { event: AlertEvent } | { reason: string } {
  const parsed = outboxPayload.safeParse(payload);
  if (!parsed.success)
    return { reason: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') };
  const raw = parsed.data;
  const event: AlertEvent = {
    id: raw.id,
    type: raw.type,
    severity: raw.severity ?? severityOf[raw.type],
    time: raw.time,
    registry: raw.registry,
    ...(raw.repository ? { repository: raw.repository } : {}),
    ...(raw.tag ? { tag: raw.tag } : {}),
    ...(raw.digest ? { digest: raw.digest } : {}),
    ...(raw.operationId ? { operationId: raw.operationId } : {}),
    ...(raw.status ? { status: raw.status } : {}),
    ...(raw.errorCode ? { errorCode: raw.errorCode } : {}),
    ...(raw.attempts !== undefined ? { attempts: raw.attempts } : {}),
    // Events stored before issue #18 § 6 may still say `{registry}`: a reader gets the name, not the template.
    message: forRegistry(raw.message ?? defaultMessage(raw.type, raw.repository, raw.digest), raw.registry),
    ...(raw.remediation ? { remediation: forRegistry(raw.remediation, raw.registry) } : {}),
    ...(raw.facts ? { facts: raw.facts } : {}),
    ...(raw.generation ? { generation: raw.generation } : {}),
  };
  return { event };
}

function defaultMessage(type: AlertEventType, repository: string | undefined, digest: string | undefined): string {
  const image = repository ? `${repository}${digest ? `@${digest.slice(0, 19)}` : ''}` : 'the registry';
  switch (type) {
    case 'conversion.succeeded':
      return `${image} is streamable`;
    case 'conversion.failed':
      return `The streaming conversion of ${image} failed`;
    case 'conversion.timedOut':
      return `The streaming conversion of ${image} did not finish in time`;
    case 'conversion.canceled':
      return `The streaming conversion of ${image} was canceled`;
    default:
      return `${type} for ${image}`;
  }
}

export const severityRank: Record<Severity, number> = { info: 0, warning: 1, error: 2 };
