/**
 * ManifestEvent → Event Grid schema event (metadataVersion "1"), field for field as in
 * test/fixtures/reference/eventgrid/image_pushed.json and image_deleted.json (key order included).
 */
import { randomUUID } from 'node:crypto';
import { registryResourceId, type ManifestEvent, type RegistryDefinition } from '../contract.js';

export const IMAGE_PUSHED = 'Microsoft.ContainerRegistry.ImagePushed';
export const IMAGE_DELETED = 'Microsoft.ContainerRegistry.ImageDeleted';

export interface ContainerRegistryEventData {
  readonly id: string;
  readonly timestamp: string;
  readonly action: 'push' | 'delete';
  readonly location: string;
  readonly target: {
    readonly mediaType: string;
    readonly size?: number;
    readonly digest: string;
    readonly length?: number;
    readonly repository: string;
    readonly tag?: string;
  };
  readonly request: {
    readonly id: string;
    readonly host: string;
    readonly method: string;
    readonly useragent?: string;
  };
}

export interface EventGridEvent<T = unknown> {
  readonly id: string;
  readonly topic: string;
  readonly subject: string;
  readonly eventType: string;
  readonly data: T;
  readonly dataVersion: string;
  readonly metadataVersion: '1';
  readonly eventTime: string;
}

/** Azure timestamps carry 7 fractional digits (.NET ticks); keep that shape so parsers see what Azure sends. */
export function azureTimestamp(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

export interface ToEventOptions {
  readonly now: Date;
  /** Defaults to a fresh uuid; used as both `id` and `data.id`, as in the reference payloads. */
  readonly id?: string;
  readonly requestId?: string;
}

export function toEventGridEvent(
  event: ManifestEvent,
  registry: RegistryDefinition,
  options: ToEventOptions,
): EventGridEvent<ContainerRegistryEventData> {
  const id = options.id ?? randomUUID();
  const push = event.action === 'push';
  const timestamp = azureTimestamp(options.now);
  // Pushes: `size` and `length` both carry the manifest size (reference has both, equal); deletes carry neither.
  const target = push
    ? {
        mediaType: event.mediaType,
        ...(event.size !== undefined ? { size: event.size } : {}),
        digest: event.digest,
        ...(event.size !== undefined ? { length: event.size } : {}),
        repository: event.repository,
        ...(event.tag !== undefined ? { tag: event.tag } : {}),
      }
    : { mediaType: event.mediaType, digest: event.digest, repository: event.repository };
  return {
    id,
    topic: registryResourceId(registry),
    // `repo:tag` for tagged pushes; the repository alone otherwise (as ImageDeleted, which has no tag, does).
    subject: push && event.tag !== undefined ? `${event.repository}:${event.tag}` : event.repository,
    eventType: push ? IMAGE_PUSHED : IMAGE_DELETED,
    data: {
      id,
      timestamp,
      action: event.action,
      location: registry.location,
      target,
      request: {
        id: options.requestId ?? randomUUID(),
        host: registry.loginServer,
        method: event.method,
        ...(event.userAgent !== undefined ? { useragent: event.userAgent } : {}),
      },
    },
    dataVersion: '2.0',
    metadataVersion: '1',
    eventTime: timestamp,
  };
}
