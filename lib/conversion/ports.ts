import { z } from 'zod';
import { tableKeyText, type ConversionStatus, type ImageKey, type Versioned } from '../core/image.js';
import type { RegistryDataPlane } from '../core/acr.js';
import type { ConversionRecord } from './record.js';

/** Conversion rows; every write is conditional so concurrent workers cannot overwrite each other. */
export interface ConversionStore {
  read(key: ImageKey): Promise<Versioned<ConversionRecord> | undefined>;
  /** Inserts; resolves undefined when the row already exists. */
  create(record: ConversionRecord): Promise<string | undefined>;
  /**
   * Replaces when the ETag still matches; resolves undefined when someone else wrote (412) or it is gone.
   * `entersFlight`: the write makes a row `Pending` that was not in flight (a claim), so the in-flight index must
   * learn of it first; writes between in-flight states need not say so.
   */
  replace(
    record: ConversionRecord,
    etag: string,
    options?: { readonly entersFlight?: boolean },
  ): Promise<string | undefined>;
  list(
    registry: string,
    filter: ConversionFilter,
    page: { continuationToken?: string; pageSize: number },
  ): Promise<{ items: ConversionRecord[]; continuationToken?: string }>;
  /**
   * Rows of every registry that are, or were until lately, `Pending` or `Running`, for the sweeper: found through an
   * index (a key range), not a scan of every row. Each comes as its last in-flight write indexed it, which may lag
   * the row: read the row before acting on it.
   */
  listInFlight(): AsyncIterable<InFlightEntry>;
}

/** Every row of a registry the filter selects, page after page (the audit's and the report's reads since a time). */
export async function* listAll(
  store: Pick<ConversionStore, 'list'>,
  registry: string,
  filter: ConversionFilter,
): AsyncIterable<ConversionRecord> {
  let continuationToken: string | undefined;
  do {
    const page = await store.list(registry, filter, {
      pageSize: 1_000,
      ...(continuationToken ? { continuationToken } : {}),
    });
    yield* page.items;
    continuationToken = page.continuationToken;
  } while (continuationToken !== undefined);
}

export interface InFlightEntry {
  /** The row as its last in-flight write left it (a later write may have finished it). */
  readonly indexed: ConversionRecord;
  /**
   * The row, just read, is no longer in flight (or is gone): drop the entry, unless a write re-indexed the row
   * meanwhile or the entry is newer than the row's last write (a worker between its index write and its row write).
   */
  release(row: ConversionRecord | undefined): Promise<void>;
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
  | 'getRepositoryStreaming'
  | 'setRepositoryStreaming'
>;
