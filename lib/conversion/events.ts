import { z } from 'zod';
import type { RegistrySettings } from '../core/registries.js';
import { isDigest, isRepositoryName, isTag } from '../core/names.js';

export const imagePushedType = 'Microsoft.ContainerRegistry.ImagePushed';
export const imageDeletedType = 'Microsoft.ContainerRegistry.ImageDeleted';

/**
 * Event Grid schema with ACR's data (docs/sources.md § Event Grid event schema). Only `target.repository` and
 * `target.digest` are required of the data — real payloads omit the rest — and unknown fields are allowed, as Event
 * Grid adds them over time.
 */
const eventSchema = z.looseObject({
  id: z.string().min(1).max(256),
  topic: z.string().min(1).max(1_024),
  subject: z.string().max(2_048).optional(),
  eventType: z.string().min(1).max(256),
  eventTime: z.string().max(64).optional(),
  dataVersion: z.string().max(16).optional(),
  metadataVersion: z.string().max(16).optional(),
  data: z.looseObject({
    id: z.string().max(256).optional(),
    action: z.string().max(64).optional(),
    target: z.looseObject({
      mediaType: z.string().max(256).optional(),
      size: z.number().nonnegative().optional(),
      digest: z.string().max(200),
      repository: z.string().max(256),
      tag: z.string().max(256).optional(),
    }),
  }),
});

export type RegistryEvent =
  | {
      readonly kind: 'pushed' | 'deleted';
      readonly eventId: string;
      readonly registry: string;
      readonly repository: string;
      readonly digest: string;
      readonly tag?: string;
      readonly mediaType?: string;
      /** When ACR raised the event (the push), when the event says so. */
      readonly eventTime?: string;
    }
  | { readonly kind: 'ignored'; readonly eventId: string; readonly reason: string }
  | {
      readonly kind: 'rejected';
      readonly eventId?: string;
      readonly reason: string;
      /** For the `event.rejected` metric: `unknown-topic` is what the Azure Monitor rule watches. */
      readonly cause: RejectionCause;
      /** What the event said, for the log line (bounded by the schema; the topic cut to 300 characters). */
      readonly said?: {
        readonly topic?: string;
        readonly registry?: string;
        readonly repository: string;
        readonly digest: string;
      };
    };

/** Why an event was rejected: unparseable, from a topic that is not a configured registry, a name off the grammar. */
export type RejectionCause = 'malformed' | 'unknown-topic' | 'invalid-name';

/**
 * Turns a delivered Event Grid event into what the pipeline acts on — or says, in words, why it must not act:
 * a malformed event, a topic that is not a configured registry (spoofing or misrouting), a name that breaks the
 * OCI grammar. Pure; never throws.
 */
export function parseRegistryEvent(raw: unknown, registries: readonly RegistrySettings[]): RegistryEvent {
  const parsed = eventSchema.safeParse(raw);
  if (!parsed.success) {
    const eventId =
      typeof (raw as { id?: unknown } | null)?.id === 'string' ? (raw as { id: string }).id.slice(0, 256) : undefined;
    const reason = `malformed event: ${parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`)
      .join('; ')}`;
    const cause = 'malformed';
    return eventId === undefined ? { kind: 'rejected', reason, cause } : { kind: 'rejected', eventId, reason, cause };
  }
  const event = parsed.data;
  const { repository, digest, tag, mediaType } = event.data.target;
  const registry = registries.find((candidate) => candidate.resourceId.toLowerCase() === event.topic.toLowerCase());
  if (registry === undefined) {
    const topic = event.topic.slice(0, 300);
    return {
      kind: 'rejected',
      eventId: event.id,
      reason: `topic ${topic} is not a configured registry`,
      cause: 'unknown-topic',
      said: { topic, repository, digest },
    };
  }
  if (event.eventType !== imagePushedType && event.eventType !== imageDeletedType) {
    return { kind: 'ignored', eventId: event.id, reason: `event type ${event.eventType.slice(0, 100)} is not handled` };
  }
  const invalid = (reason: string): RegistryEvent => ({
    kind: 'rejected',
    eventId: event.id,
    reason,
    cause: 'invalid-name',
    said: { registry: registry.name, repository, digest },
  });
  if (!isRepositoryName(repository)) return invalid(`"${repository.slice(0, 100)}" is not an OCI repository name`);
  if (!isDigest(digest)) return invalid(`"${digest.slice(0, 100)}" is not a digest`);
  if (tag !== undefined && !isTag(tag)) return invalid(`"${tag.slice(0, 100)}" is not a tag`);
  return {
    kind: event.eventType === imagePushedType ? 'pushed' : 'deleted',
    eventId: event.id,
    registry: registry.name,
    repository,
    digest,
    ...(tag === undefined ? {} : { tag }),
    ...(mediaType === undefined ? {} : { mediaType }),
    ...(event.eventTime !== undefined && Number.isFinite(Date.parse(event.eventTime))
      ? { eventTime: event.eventTime }
      : {}),
  };
}
