import { z } from 'zod';
import { appSettingNamePattern } from '../core/registries.js';
import { alertEventTypes, severities } from './payloads.js';

/**
 * An alert channel, configured by the operator. URLs and signing secrets are never inline: they name other app
 * settings (Key Vault references in Azure), so a policy — or anyone reading this list — never sees them.
 */
export const channelSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'letters, digits, _ and -, up to 64'),
    kind: z.enum(['webhook', 'teams']),
    urlSetting: z.string().regex(appSettingNamePattern, 'must be an app setting name'),
    /** Standard Webhooks signing secret (`whsec_…`), required for webhooks. */
    secretSetting: z.string().regex(appSettingNamePattern, 'must be an app setting name').optional(),
    events: z.array(z.enum(alertEventTypes)).min(1).optional(),
    minSeverity: z.enum(severities).default('warning'),
    /** Deliveries per minute to this channel (Teams allows a few per second). */
    ratePerMinute: z.number().int().min(1).max(6_000).default(30),
  })
  .strict()
  .refine((channel) => channel.kind !== 'webhook' || channel.secretSetting !== undefined, {
    message: 'a webhook channel needs secretSetting',
    path: ['secretSetting'],
  });

export type ChannelSettings = z.infer<typeof channelSchema>;

/** How alerts are delivered: the channels with their resolved secrets, and the app-wide limits. */
export interface AlertSettings {
  /** The channels alerts go to: those whose URL (and signing secret) resolved. */
  readonly channels: readonly ChannelSettings[];
  /**
   * Configured channels left out because a setting they name is missing, malformed or an unresolved Key Vault
   * reference: channel name → the reason (names the setting, never its value). The app runs without them.
   */
  readonly disabledChannels: ReadonlyMap<string, string>;
  /** Channel URLs and signing secrets, resolved from the settings the channels name; secrets: never log. */
  readonly channelSecrets: ReadonlyMap<string, { readonly url: string; readonly secret?: string }>;
  readonly dryRun: boolean;
  readonly maxAttempts: number;
  readonly dedupWindowSeconds: number;
  readonly burstWindowSeconds: number;
  readonly burstThreshold: number;
}
