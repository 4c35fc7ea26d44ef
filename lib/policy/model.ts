import { alertEventTypes } from '../core/alert-event-types.js';
import { z } from '../core/zod.js';

/**
 * The streaming policy of a repository: one zod schema is the source of truth for validation, defaults, types
 * and (later) the OpenAPI document. Defaults live here and only here; docs/policy.md tables them.
 */
export const policyApiVersion = '2026-11-01';

const globList = z
  .array(z.string().min(1).max(256))
  .max(50)
  .describe('glob patterns (picomatch); tags never contain "/"');

export const streamingModes = ['off', 'onPush', 'native'] as const;
export type StreamingMode = (typeof streamingModes)[number];

export const retrySchema = z
  .object({
    /** Conversion attempts in all, the first included. */
    maxAttempts: z.number().int().min(1).max(10).default(3),
    initialDelaySeconds: z.number().int().min(1).max(86_400).default(60),
    maxDelaySeconds: z.number().int().min(1).max(86_400).default(3_600),
  })
  .strict();

export const backfillSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Only images pushed within this many days are backfilled. */
    maxAgeDays: z.number().int().min(1).max(3_650).default(90),
    /** Conversions one backfill run may start for the repository. */
    maxImagesPerRun: z.number().int().min(1).max(10_000).default(100),
  })
  .strict();

export const alertRoutingSchema = z
  .object({
    /** Names of operator-configured channels; a policy can never name a URL. Empty: every channel. */
    channels: z
      .array(z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/))
      .max(20)
      .default([]),
    /** Event types this repository's alerts are narrowed to. Empty: whatever each channel takes. */
    events: z
      .array(
        z.enum(alertEventTypes, {
          error: (issue) =>
            `"${String(issue.input).slice(0, 64)}" is not an alert event type; one of ${alertEventTypes.join(', ')}`,
        }),
      )
      .max(20)
      .default([]),
  })
  .strict();

export const policySchema = z
  .object({
    mode: z.enum(streamingModes).default('off'),
    tags: z
      .object({
        include: globList.default(['*']),
        exclude: globList.default([]),
      })
      .strict()
      .default({ include: ['*'], exclude: [] }),
    /** Convert pushes that carry no tag (by digest, or an index's children). */
    untagged: z.boolean().default(false),
    /** ACR converts images up to 30 GB; larger ones are skipped with that reason. */
    maxImageSizeGiB: z.number().positive().max(1_024).default(30),
    backfill: backfillSchema.default({ enabled: false, maxAgeDays: 90, maxImagesPerRun: 100 }),
    retry: retrySchema.default({ maxAttempts: 3, initialDelaySeconds: 60, maxDelaySeconds: 3_600 }),
    /** A conversion still running after this long is cancelled and reported TimedOut. */
    deadlineMinutes: z
      .number()
      .int()
      .min(5)
      .max(7 * 24 * 60)
      .default(360),
    alerts: alertRoutingSchema.default({ channels: [], events: [] }),
    /** Principals (object ids or UPNs) allowed to change this policy, besides admins. */
    owners: z.array(z.string().min(1).max(256)).max(50).default([]),
    description: z.string().max(1_000).default(''),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

/** The built-in default: converts nothing until an owner or operator says so. */
export const builtInPolicy: Policy = policySchema.parse({});

/** Which policy applied to a repository, so decisions can say why. */
export interface AppliedPolicy {
  readonly policy: Policy;
  /** `_default`, a glob like `team-a/**`, an exact repository, or `DEFAULT_POLICY` when no stored policy matches. */
  readonly scope: string;
}

/** Where the pipeline gets a repository's policy: configuration now, the policy table once it exists. */
export interface PolicySource {
  policyFor(registry: string, repository: string): Promise<AppliedPolicy>;
}
