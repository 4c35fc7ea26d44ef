import { z } from '../core/zod.js';
import { clusterVerdictSchema } from '../consumers/model.js';

/**
 * The compliance report: one schema (documented in docs/reports.md) from which JSON is written as is and CSV, HTML
 * and Markdown are rendered. Version 1; fields may be added, a breaking change bumps `schemaVersion`.
 */
export const reportSchemaVersion = '1';

export const findingStatuses = [
  'converted',
  'missing',
  'failed',
  'in-progress',
  'stale-operation',
  'ineligible',
] as const;
export type FindingStatus = (typeof findingStatuses)[number];

/** One image's state as the last audit saw it. CSV has one row per finding. */
export const imageFindingSchema = z.object({
  registry: z.string(),
  repository: z.string(),
  digest: z.string(),
  tags: z.array(z.string()),
  status: z.enum(findingStatuses),
  /** Why ineligible, or what the failure was, in words. */
  reason: z.string(),
  errorCode: z.string().optional(),
  remediation: z.string().optional(),
  platforms: z.string().optional(),
  /** What the manifest is, as the audit found it (the listing does not say: one GET per digest, issue #18 § 5). */
  kind: z.enum(['image', 'index', 'referrer', 'helm-chart', 'artifact']).optional(),
  sizeBytes: z.number().optional(),
  pushedAt: z.string().optional(),
  checkedAt: z.string(),
});
export type ImageFinding = z.infer<typeof imageFindingSchema>;

export const connectedRegistryStates = ['healthy', 'syncing', 'stale', 'offline', 'unhealthy', 'inactive'] as const;
export type ConnectedRegistryState = (typeof connectedRegistryStates)[number];

export const connectedRegistryReportSchema = z.object({
  name: z.string(),
  state: z.enum(connectedRegistryStates),
  connectionState: z.string().optional(),
  mode: z.string().optional(),
  lastActivityTime: z.string().optional(),
  lastSyncTime: z.string().optional(),
  syncSchedule: z.string().optional(),
  /** Why it is in this state and what to do (healthy ones have none). */
  reason: z.string().optional(),
  remediation: z.string().optional(),
});
export type ConnectedRegistryReport = z.infer<typeof connectedRegistryReportSchema>;

export const repositoryCoverageSchema = z.object({
  repository: z.string(),
  /** The policy scope that governs it (`DEFAULT_POLICY` when none is stored). */
  policyScope: z.string(),
  mode: z.string(),
  eligible: z.number().int(),
  streamable: z.number().int(),
  missing: z.number().int(),
  failed: z.number().int(),
  inProgress: z.number().int(),
  ineligible: z.number().int(),
  /** streamable / eligible × 100, one decimal; 100 when nothing is eligible. */
  coveragePercent: z.number(),
});
export type RepositoryCoverage = z.infer<typeof repositoryCoverageSchema>;

/**
 * A repository whose ACR switch (`convertPushedImages`) drifted from its policy (issue #15): open while ACR still
 * disagrees, closed once it agrees again. Open episodes and those closed in the last 30 days are reported.
 */
export const switchDriftReportSchema = z.object({
  repository: z.string(),
  policyScope: z.string(),
  /** What the policy wants ACR's switch to be (on under `native`), and what ACR reported last. */
  expected: z.boolean(),
  actual: z.boolean(),
  state: z.enum(['open', 'closed']),
  foundAt: z.string(),
  foundBy: z.enum(['audit', 'policy-change']),
  closedAt: z.string().optional(),
  message: z.string(),
});
export type SwitchDriftReport = z.infer<typeof switchDriftReportSchema>;

/**
 * An image that does not stream, as the HTML report lists it with a link to its diagnosis (issue #20 §2): what the
 * doctor needs (`repository@digest`) and what the reader needs to tell the images apart.
 */
export const notStreamingImageSchema = z.object({
  repository: z.string(),
  digest: z.string(),
  tags: z.array(z.string()),
  status: z.enum(findingStatuses),
  reason: z.string(),
  errorCode: z.string().optional(),
});
export type NotStreamingImage = z.infer<typeof notStreamingImageSchema>;

/** Images listed per registry at most (failed first); the CSV lists every one. */
export const notStreamingImageLimit = 200;

/**
 * Who streams (issue #20 §1): the AKS clusters in the configured scope, whether each can pull from the registry and
 * which node pools can stream, with the fixes; computed from ARM when the report is made.
 */
export const consumersSectionSchema = z.object({
  /** False when no scope is configured: then nothing below was looked at. */
  configured: z.boolean(),
  /** The subscriptions, resource groups or cluster IDs looked in. */
  scope: z.array(z.string()),
  /** Every cluster found in scope: those that pull first, those without pull last (with the fix that attaches them). */
  clusters: z.array(clusterVerdictSchema),
  /** Nodes in pools that can stream against all nodes, over the clusters that pull (or may: pull unknown). */
  capacity: z.object({
    nodes: z.number().int(),
    streamingNodes: z.number().int(),
    /** streamingNodes / nodes × 100, one decimal; 0 when there are no nodes. */
    percent: z.number(),
  }),
  /** What could not be read, and what to grant. */
  unreadable: z.array(z.string()),
  /** What is and is not known, in words. */
  notes: z.array(z.string()),
});
export type ConsumersSection = z.infer<typeof consumersSectionSchema>;

export const registryReportSchema = z.object({
  registry: z.string(),
  loginServer: z.string(),
  readiness: z.object({
    premium: z.boolean().optional(),
    customerManagedKey: z.boolean().optional(),
    /** Whether an Event Grid subscription delivers ImagePushed to this app; undefined when ARM could not tell. */
    eventSubscription: z.boolean().optional(),
    ready: z.boolean(),
    notes: z.array(z.string()),
  }),
  totals: z.object({
    repositories: z.number().int(),
    repositoriesWithPolicy: z.number().int(),
    /** Repositories whose policy is off (stored, or the DEFAULT_POLICY setting), so nothing is audited there. */
    repositoriesWithoutPolicy: z.number().int(),
    /** Repositories no stored policy matches, governed by the DEFAULT_POLICY setting (added 2026-11; absent before). */
    repositoriesOnDefaultPolicy: z.number().int().optional(),
    eligible: z.number().int(),
    streamable: z.number().int(),
    missing: z.number().int(),
    failed: z.number().int(),
    inProgress: z.number().int(),
    ineligible: z.number().int(),
    coveragePercent: z.number(),
  }),
  repositories: z.array(repositoryCoverageSchema),
  topFailures: z.array(
    z.object({
      errorCode: z.string(),
      count: z.number().int(),
      remediation: z.string(),
      examples: z.array(z.string()),
    }),
  ),
  connectedRegistries: z.array(connectedRegistryReportSchema),
  /** ACR switches that drifted from their policy: open first, then the most recent (added in 2026-11; [] before). */
  drift: z.array(switchDriftReportSchema).default([]),
  /**
   * Images that do not stream (failed, missing, stale operation, in progress, ineligible: in that order), at most
   * {@link notStreamingImageLimit}; each links to its diagnosis in the HTML (issue #20 §2; added 2026-11, absent
   * before).
   */
  imagesNotStreaming: z.array(notStreamingImageSchema).optional(),
  /** AKS clusters that pull from the registry and whether they can stream (issue #20; added 2026-11, absent before). */
  consumers: consumersSectionSchema.optional(),
  /** Coverage of the last (up to) 30 audit runs, oldest first. */
  trend: z.array(
    z.object({
      time: z.string(),
      coveragePercent: z.number(),
      eligible: z.number().int(),
      streamable: z.number().int(),
    }),
  ),
  /** The audit run the figures come from. */
  audit: z
    .object({ runId: z.string(), startedAt: z.string(), completedAt: z.string().optional(), complete: z.boolean() })
    .optional(),
});
export type RegistryReport = z.infer<typeof registryReportSchema>;

export const complianceReportSchema = z
  .object({
    schemaVersion: z.literal(reportSchemaVersion),
    id: z.string(),
    generatedAt: z.string(),
    generator: z.object({ name: z.literal('acr-streaming-autopilot'), version: z.string() }),
    /** Who asked for it (`POST /api/reports`): the caller's object id; absent for scheduled reports. */
    requestedBy: z.string().optional(),
    registries: z.array(registryReportSchema),
    /**
     * The configured alert channels and whether they run: one whose URL or secret was missing or an unresolved Key
     * Vault reference is disabled, with the reason (issue #16 §4; added in 2026-11, [] before).
     */
    alertChannels: z
      .array(
        z.object({
          name: z.string(),
          kind: z.string(),
          status: z.enum(['enabled', 'disabled']),
          reason: z.string().optional(),
        }),
      )
      .default([]),
  })
  .openapi('ComplianceReport');
export type ComplianceReport = z.infer<typeof complianceReportSchema>;

/**
 * Where report content comes from (the audits' state); the report service renders and stores what it returns.
 * `findings` streams, so a registry of any size renders the CSV without holding it in memory.
 */
export interface ReportDataSource {
  registryReport(registry: string): Promise<RegistryReport>;
  findings(registry: string): AsyncIterable<ImageFinding>;
}
