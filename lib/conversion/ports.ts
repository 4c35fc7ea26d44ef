import { z } from 'zod';
import { tableKeyText, type ConversionStatus, type ImageKey, type Versioned } from '../core/image.js';
import type { RegistryDataPlane } from '../core/acr.js';
import type { ConversionRecord } from './record.js';

/** Conversion rows; every write is conditional so concurrent workers cannot overwrite each other. */
export interface ConversionStore {
  read(key: ImageKey): Promise<Versioned<ConversionRecord> | undefined>;
  /** Inserts; resolves undefined when the row already exists. */
  create(record: ConversionRecord): Promise<string | undefined>;
  /** Replaces when the ETag still matches; resolves undefined when someone else wrote (412) or it is gone. */
  replace(record: ConversionRecord, etag: string): Promise<string | undefined>;
  list(
    registry: string,
    filter: ConversionFilter,
    page: { continuationToken?: string; pageSize: number },
  ): Promise<{ items: ConversionRecord[]; continuationToken?: string }>;
  /** Pending and Running rows of every registry, for the sweeper. */
  listInFlight(): AsyncIterable<Versioned<ConversionRecord>>;
}

export interface ConversionFilter {
  readonly repository?: string;
  readonly status?: ConversionStatus;
  /** Only rows updated at or after this instant. */
  readonly since?: Date;
}

export const trackingMessageSchema = z
  .object({
    kind: z.enum(['start', 'poll']),
    registry: tableKeyText(1, 50),
    repository: tableKeyText(1, 255, { slash: 'allowed' }),
    digest: tableKeyText(1, 200),
    token: z.string().min(1).max(64),
  })
  .strict();
export type TrackingMessage = z.infer<typeof trackingMessageSchema>;

export interface TrackingQueue {
  send(message: TrackingMessage, delaySeconds: number): Promise<void>;
}

/** The registry calls the pipeline makes (lib/registry/client.ts implements them; tests may pass a fake). */
export type RegistryGateway = Pick<
  RegistryDataPlane,
  | 'getManifest'
  | 'getManifestAttributes'
  | 'listReferrers'
  | 'getStreamingOperation'
  | 'startStreamingConversion'
  | 'getOperation'
  | 'cancelOperation'
>;
