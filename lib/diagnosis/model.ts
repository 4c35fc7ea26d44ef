import { z } from '../core/zod.js';

/**
 * The doctor's answer (issue #20 §2): every reason an image would not stream or not pull, as an ordered checklist with
 * the evidence read and the fix. The check ids are stable: automation branches on them, the CLI prints them, the
 * report links to the checklist.
 */
export const checkIds = [
  'registry.premium',
  'registry.cmk',
  'image.exists',
  'image.platform',
  'image.size',
  'streaming.artifact',
  'policy.decision',
  'cluster.pull',
  'cluster.network',
  'cluster.pools',
  'cluster.region',
  'note.digest-deployments',
  'note.upgrade-if-streamable-disabled',
  'note.node-logs',
] as const;
export type CheckId = (typeof checkIds)[number];

/**
 * `pass` the requirement holds; `fail` it does not (the verdict says which way); `warn` it could not be decided or
 * only partly holds (the evidence says why); `info` a note that is always present; `skipped` a prerequisite failed or
 * was not asked for (no digest: no platform check; no cluster: no cluster checks).
 */
export const checkStatuses = ['pass', 'fail', 'warn', 'info', 'skipped'] as const;
export type CheckStatus = (typeof checkStatuses)[number];

export const checkItemSchema = z
  .object({
    id: z.enum(checkIds),
    title: z.string(),
    status: z.enum(checkStatuses),
    evidence: z.string().describe('what was read, in words and values'),
    fix: z.string().optional().describe('the command that fixes it, names filled in'),
    docs: z.string().optional().describe('a Microsoft Learn page'),
  })
  .openapi('DiagnosisCheck');
export type CheckItem = z.infer<typeof checkItemSchema>;

/**
 * `will-stream` nothing found in the way; `will-not-pull` the image is missing or the cluster cannot reach or may not
 * pull it; `will-not-stream` it pulls but does not stream; `unknown` nothing failed but a check that decides it could
 * not be made (ARM unreadable, no cluster source).
 */
export const verdicts = ['will-stream', 'will-not-stream', 'will-not-pull', 'unknown'] as const;
export type Verdict = (typeof verdicts)[number];

export const diagnosisSchema = z
  .object({
    summary: z.object({
      verdict: z.enum(verdicts),
      image: z.object({
        registry: z.string(),
        repository: z.string(),
        tag: z.string().optional(),
        digest: z.string().optional().describe('the digest asked for, or the one the tag names'),
      }),
      cluster: z.string().optional().describe('the cluster resource id asked about'),
    }),
    checks: z.array(checkItemSchema).describe(`in this order, ids stable: ${checkIds.join(', ')}`),
    checkedAt: z.string(),
  })
  .openapi('Diagnosis');
export type Diagnosis = z.infer<typeof diagnosisSchema>;
