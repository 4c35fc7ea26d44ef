import { z } from 'zod';
import { channelSchema, type AlertSettings, type ChannelSettings } from './alerts/settings.js';
import { policySchema, type Policy } from './policy/model.js';
import { registrySettingsSchema, type RegistrySettings } from './core/registries.js';
import { parseConsumerScope } from './consumers/scope.js';
import { isValidStoragePrefix, storagePrefixRule } from './storage/resources.js';

/**
 * Application settings: the one place every setting is named, with its default. The same names appear in
 * local.settings.sample.json and in the Bicep app settings (a parity test keeps the three in step).
 *
 * Values are never logged; {@link summarizeConfig} is the only view of the configuration meant for output.
 */

const jsonText = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not valid JSON (${(error as Error).message})` });
    return z.NEVER;
  }
});

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/**
 * The raw environment, as Azure and `func start` present app settings. Storage follows the Functions host's
 * own convention so one setting serves the triggers and the app's own clients: either a connection string in
 * `AzureWebJobsStorage` or an identity-based connection (`AzureWebJobsStorage__accountName`, or the per-service
 * URIs) with an optional user-assigned identity in `AzureWebJobsStorage__clientId`.
 */
const environmentSchema = z.object({
  AzureWebJobsStorage: optionalText,
  AzureWebJobsStorage__accountName: optionalText,
  AzureWebJobsStorage__blobServiceUri: optionalText,
  AzureWebJobsStorage__queueServiceUri: optionalText,
  AzureWebJobsStorage__tableServiceUri: optionalText,
  AzureWebJobsStorage__clientId: optionalText,
  /** Prefix of every table, queue and container this app owns, so several instances can share an account. */
  STORAGE_PREFIX: z
    .string()
    .refine(
      isValidStoragePrefix,
      `lowercase letters and digits, ${storagePrefixRule.minLength} to ${storagePrefixRule.maxLength}, starting with a letter`,
    )
    .default('streaming'),
  /** JSON array of registries this app serves: [{ name, loginServer, resourceId, auth }]. */
  REGISTRIES: jsonText.pipe(z.array(registrySettingsSchema)).default([]),
  /** Resource Manager endpoint (sovereign clouds differ). */
  ARM_ENDPOINT: z.url({ protocol: /^https$/ }).default('https://management.azure.com'),
  /** Entra ID audience of ACR tokens: `https://containerregistry.azure.net` in the public cloud. */
  ACR_AUDIENCE: z.url({ protocol: /^https$/ }).default('https://containerregistry.azure.net'),
  /** Client ID of the user-assigned managed identity the app runs as (read by @azure/identity too). */
  AZURE_CLIENT_ID: optionalText,
  /**
   * JSON policy applied where no stored policy matches (fields as the policy API; missing fields take its defaults).
   */
  DEFAULT_POLICY: jsonText.pipe(policySchema).default(policySchema.parse({})),
  /** First tracking poll after a conversion starts; later polls double up to the maximum. */
  TRACKING_FIRST_POLL_SECONDS: z.coerce.number().int().min(1).max(3_600).default(10),
  TRACKING_MAX_POLL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /** How long a push under a native policy waits for ACR's own conversion before the app converts it (A6). */
  NATIVE_PICKUP_SECONDS: z.coerce.number().int().min(1).max(3_600).default(120),
  /** How long one worker owns an image's start path before others may take over (crash recovery). */
  CONVERSION_LEASE_SECONDS: z.coerce.number().int().min(10).max(3_600).default(120),
  /** NCRONTAB of the sweeper that re-drives conversions whose tracking went quiet. */
  SWEEPER_SCHEDULE: z.string().min(9).default('0 */5 * * * *'),
  /** A conversion whose next check is this overdue counts as quiet (lost message, crashed host). */
  SWEEPER_QUIET_SECONDS: z.coerce.number().int().min(5).max(86_400).default(600),
  /** ACR requests in flight at once per registry. */
  ACR_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /**
   * When ACR throttles a registry (429), every instance waits (a shared "throttled until" in Table Storage); `false`:
   * only the request that met the 429 waits.
   */
  ACR_SHARED_THROTTLE: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
  /**
   * JSON array of alert channels: [{ name, kind: webhook|teams, urlSetting, secretSetting?, events?, minSeverity?,
   * ratePerMinute? }].
   */
  ALERT_CHANNELS: jsonText.pipe(z.array(channelSchema)).default([]),
  /** Render and log alerts without sending them. */
  ALERTS_DRY_RUN: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
  /** Delivery attempts per alert and channel before it is kept as failed (listed by GET /api/alerts?status=failed). */
  ALERT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(30).default(8),
  /** The same (type, registry, repository, digest) again inside this window is not sent again. */
  ALERT_DEDUP_WINDOW_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(3_600),
  /** Events of one type from one registry beyond ALERT_BURST_THRESHOLD inside this window collapse into one summary. */
  ALERT_BURST_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  ALERT_BURST_THRESHOLD: z.coerce.number().int().min(1).max(1_000).default(3),
  /** NCRONTAB of the relay that re-sends outbox events and deliveries whose queue message was lost. */
  ALERT_RELAY_SCHEDULE: z.string().min(9).default('0 */2 * * * *'),
  /** The relay leaves an outbox row or a delivery alone until it is this overdue (its own message may still come). */
  ALERT_RELAY_GRACE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** Public base URL of this app (links in alerts to its API), e.g. https://myapp.azurewebsites.net. */
  APP_BASE_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  /** NCRONTAB of the missing-streaming-artifact audit (each registry's repositories with an active policy). */
  AUDIT_SCHEDULE: z.string().min(9).default('0 0 * * * *'),
  /** Digests verified streamable are checked again within this period (rolling, spread over it). */
  AUDIT_REVERIFY_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(90 * 86_400)
    .default(7 * 86_400),
  /** Referrer checks one audit run may make per registry before it checkpoints and continues in the next message. */
  AUDIT_REQUEST_BUDGET: z.coerce.number().int().min(10).max(1_000_000).default(5_000),
  /** Conversions one audit run may start for missing artifacts (only where the policy enables backfill). */
  AUDIT_BACKFILL_BUDGET: z.coerce.number().int().min(0).max(10_000).default(50),
  /** NCRONTAB of the connected-registry audit. */
  CONNECTED_AUDIT_SCHEDULE: z.string().min(9).default('0 */15 * * * *'),
  /**
   * A connected registry without activity for longer than this is stale; 0 derives it from its sync schedule and
   * window.
   */
  CONNECTED_STALE_MINUTES: z.coerce.number().int().min(0).max(43_200).default(0),
  /**
   * Where the AKS clusters that pull from the registries are looked for (issue #20): comma-separated ARM IDs of
   * subscriptions, resource groups or clusters. Empty: the consumer features are not configured.
   */
  CONSUMER_SCOPES: z
    .string()
    .optional()
    .transform((text, ctx) => {
      const scopes = (text ?? '')
        .split(',')
        .map((scope) => scope.trim())
        .filter((scope) => scope.length > 0);
      for (const scope of scopes) {
        try {
          parseConsumerScope(scope);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }
      return scopes;
    }),
  /** NCRONTAB of the consumer audit (AKS clusters that pull from the registries; issue #20). */
  CONSUMER_AUDIT_SCHEDULE: z.string().min(9).default('0 */30 * * * *'),
  /** NCRONTAB of the compliance report. */
  REPORT_SCHEDULE: z.string().min(9).default('0 0 6 * * *'),
  /** Pause between two runs of a backfill (each run starts at most the policy's `backfill.maxImagesPerRun`). */
  BACKFILL_RUN_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
});

/** Every app setting the schema reads; parity tests compare it with local.settings.sample.json and the Bicep. */
export const configSettingNames: readonly string[] = Object.keys(environmentSchema.shape);

export interface StorageSettings {
  readonly kind: 'connectionString' | 'identity';
  /** Only for kind `connectionString`; a secret: never log it. */
  readonly connectionString?: string;
  readonly blobServiceUri: string;
  readonly queueServiceUri: string;
  readonly tableServiceUri: string;
  /** User-assigned managed identity for storage, when not the default identity. */
  readonly clientId?: string;
}

export interface AppConfig {
  readonly storage: StorageSettings;
  readonly storagePrefix: string;
  readonly registries: readonly RegistrySettings[];
  /** Passwords of `password`-auth registries, resolved from the settings they name; keyed by registry name. */
  readonly registryPasswords: ReadonlyMap<string, string>;
  readonly armEndpoint: string;
  /** CONSUMER_SCOPES: ARM IDs to look for consuming AKS clusters in; empty when the consumer features are off. */
  readonly consumerScopes: readonly string[];
  readonly acrAudience: string;
  readonly managedIdentityClientId: string | undefined;
  readonly defaultPolicy: Policy;
  readonly tracking: {
    readonly firstPollSeconds: number;
    readonly maxPollSeconds: number;
    readonly leaseSeconds: number;
    readonly quietSeconds: number;
    readonly acrPickupSeconds: number;
  };
  readonly sweeperSchedule: string;
  readonly acrMaxConcurrency: number;
  readonly acrSharedThrottle: boolean;
  readonly backfill: { readonly runIntervalSeconds: number };
  /** Alert delivery (lib/alerts/settings.ts) and the schedule of the relay that re-sends lost messages. */
  readonly alerts: AlertSettings & { readonly relaySchedule: string; readonly relayGraceSeconds: number };
  readonly appBaseUrl: string | undefined;
  /** Every configured alert channel (name, kind) in ALERT_CHANNELS order, enabled or not. */
  readonly alertChannelKinds: ReadonlyArray<readonly [string, string]>;
  readonly audit: {
    readonly schedule: string;
    readonly reverifySeconds: number;
    readonly requestBudget: number;
    readonly backfillBudget: number;
    readonly connectedSchedule: string;
    readonly connectedStaleMinutes: number;
    readonly consumerSchedule: string;
    readonly reportSchedule: string;
  };
}

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/**
 * Validates the environment once and returns the typed configuration.
 * @throws ConfigurationError listing every problem (never the values), so one start-up shows all of them.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): AppConfig {
  const parsed = environmentSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.map(String).join('.')}: ${issue.message}`);
    throw new ConfigurationError(problems);
  }
  const settings = parsed.data;
  const storage = resolveStorage(settings, problems);
  const registryPasswords = resolveRegistryPasswords(settings.REGISTRIES, env, problems);
  const channels = resolveChannelSecrets(settings.ALERT_CHANNELS, env, problems);
  if (problems.length > 0 || storage === undefined) throw new ConfigurationError(problems);
  return {
    storage,
    storagePrefix: settings.STORAGE_PREFIX,
    registries: settings.REGISTRIES,
    registryPasswords,
    armEndpoint: settings.ARM_ENDPOINT.replace(/\/$/, ''),
    consumerScopes: settings.CONSUMER_SCOPES,
    acrAudience: settings.ACR_AUDIENCE.replace(/\/$/, ''),
    managedIdentityClientId: settings.AZURE_CLIENT_ID,
    defaultPolicy: settings.DEFAULT_POLICY,
    tracking: {
      firstPollSeconds: settings.TRACKING_FIRST_POLL_SECONDS,
      maxPollSeconds: settings.TRACKING_MAX_POLL_SECONDS,
      leaseSeconds: settings.CONVERSION_LEASE_SECONDS,
      quietSeconds: settings.SWEEPER_QUIET_SECONDS,
      acrPickupSeconds: settings.NATIVE_PICKUP_SECONDS,
    },
    sweeperSchedule: settings.SWEEPER_SCHEDULE,
    acrMaxConcurrency: settings.ACR_MAX_CONCURRENCY,
    acrSharedThrottle: settings.ACR_SHARED_THROTTLE,
    backfill: { runIntervalSeconds: settings.BACKFILL_RUN_INTERVAL_SECONDS },
    alerts: {
      ...channels,
      dryRun: settings.ALERTS_DRY_RUN,
      maxAttempts: settings.ALERT_MAX_ATTEMPTS,
      dedupWindowSeconds: settings.ALERT_DEDUP_WINDOW_SECONDS,
      burstWindowSeconds: settings.ALERT_BURST_WINDOW_SECONDS,
      burstThreshold: settings.ALERT_BURST_THRESHOLD,
      relaySchedule: settings.ALERT_RELAY_SCHEDULE,
      relayGraceSeconds: settings.ALERT_RELAY_GRACE_SECONDS,
    },
    appBaseUrl: settings.APP_BASE_URL?.replace(/\/$/, ''),
    alertChannelKinds: settings.ALERT_CHANNELS.map((channel) => [channel.name, channel.kind] as const),
    audit: {
      schedule: settings.AUDIT_SCHEDULE,
      reverifySeconds: settings.AUDIT_REVERIFY_SECONDS,
      requestBudget: settings.AUDIT_REQUEST_BUDGET,
      backfillBudget: settings.AUDIT_BACKFILL_BUDGET,
      connectedSchedule: settings.CONNECTED_AUDIT_SCHEDULE,
      connectedStaleMinutes: settings.CONNECTED_STALE_MINUTES,
      consumerSchedule: settings.CONSUMER_AUDIT_SCHEDULE,
      reportSchedule: settings.REPORT_SCHEDULE,
    },
  };
}

function resolveRegistryPasswords(
  registries: readonly RegistrySettings[],
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): Map<string, string> {
  const passwords = new Map<string, string>();
  const seen = new Set<string>();
  registries.forEach((registry, index) => {
    if (seen.has(registry.name)) problems.push(`REGISTRIES.${index}.name: duplicate registry name "${registry.name}"`);
    seen.add(registry.name);
    if (registry.auth.type !== 'password') return;
    const password = env[registry.auth.passwordSetting];
    if (password === undefined || password === '') {
      problems.push(`REGISTRIES.${index}.auth.passwordSetting: setting ${registry.auth.passwordSetting} is not set`);
    } else {
      passwords.set(registry.name, password);
    }
  });
  return passwords;
}

/**
 * App Service passes a Key Vault reference it could not resolve through as its own text (Microsoft Learn,
 * app-service/app-service-key-vault-references, "Troubleshoot Key Vault references": "If a reference isn't resolved
 * properly, the reference string is used instead (for example, `@Microsoft.KeyVault(...)`)").
 */
const unresolvedKeyVaultReference = /^\s*@Microsoft\.KeyVault\(/i;

/**
 * Channel URLs and signing secrets from the settings the channels name. A channel whose setting is missing,
 * malformed or an unresolved Key Vault reference is disabled with the reason (issue #16 §4): one bad secret costs
 * that channel, never the app. Only a duplicate name — the channel list itself is wrong — is a problem.
 */
function resolveChannelSecrets(
  channels: readonly ChannelSettings[],
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): Pick<AlertSettings, 'channels' | 'channelSecrets' | 'disabledChannels'> {
  const resolved = new Map<string, { url: string; secret?: string }>();
  const disabled = new Map<string, string>();
  const seen = new Set<string>();
  channels.forEach((channel, index) => {
    if (seen.has(channel.name)) {
      problems.push(`ALERT_CHANNELS.${index}.name: duplicate channel name "${channel.name}"`);
      return;
    }
    seen.add(channel.name);
    const reason = channelProblem(channel, env);
    if (reason !== undefined) {
      disabled.set(channel.name, reason);
      return;
    }
    const url = env[channel.urlSetting]!;
    const secret = channel.secretSetting === undefined ? undefined : env[channel.secretSetting];
    resolved.set(channel.name, secret === undefined ? { url } : { url, secret });
  });
  return {
    channels: channels.filter((channel) => resolved.has(channel.name)),
    channelSecrets: resolved,
    disabledChannels: disabled,
  };
}

/** Why a channel cannot be used, naming the setting (its value is a secret: a Teams URL carries its signature). */
function channelProblem(
  channel: ChannelSettings,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const url = env[channel.urlSetting];
  if (url === undefined || url.trim() === '') return `setting ${channel.urlSetting} is not set`;
  if (unresolvedKeyVaultReference.test(url))
    return `setting ${channel.urlSetting} is an unresolved Key Vault reference`;
  if (!URL.canParse(url) || new URL(url).protocol !== 'https:')
    return `setting ${channel.urlSetting} must hold an https:// URL`;
  if (channel.secretSetting === undefined) return undefined;
  const secret = env[channel.secretSetting];
  if (secret !== undefined && unresolvedKeyVaultReference.test(secret))
    return `setting ${channel.secretSetting} is an unresolved Key Vault reference`;
  if (secret === undefined || !/^whsec_[A-Za-z0-9+/=]{20,}$/.test(secret))
    return `setting ${channel.secretSetting} must hold a whsec_… Standard Webhooks secret`;
  return undefined;
}

type ParsedEnvironment = z.infer<typeof environmentSchema>;

function resolveStorage(settings: ParsedEnvironment, problems: string[]): StorageSettings | undefined {
  if (settings.AzureWebJobsStorage !== undefined) {
    const fromConnectionString = storageFromConnectionString(settings.AzureWebJobsStorage);
    if (typeof fromConnectionString === 'string') {
      problems.push(`AzureWebJobsStorage: ${fromConnectionString}`);
      return undefined;
    }
    return fromConnectionString;
  }
  const account = settings.AzureWebJobsStorage__accountName;
  const blob = settings.AzureWebJobsStorage__blobServiceUri ?? (account && `https://${account}.blob.core.windows.net`);
  const queue =
    settings.AzureWebJobsStorage__queueServiceUri ?? (account && `https://${account}.queue.core.windows.net`);
  const table =
    settings.AzureWebJobsStorage__tableServiceUri ?? (account && `https://${account}.table.core.windows.net`);
  if (!blob || !queue || !table) {
    problems.push(
      'AzureWebJobsStorage: not set; set a connection string, or AzureWebJobsStorage__accountName for an identity-based connection ' +
        '(or all three AzureWebJobsStorage__blobServiceUri/__queueServiceUri/__tableServiceUri)',
    );
    return undefined;
  }
  return {
    kind: 'identity',
    blobServiceUri: blob,
    queueServiceUri: queue,
    tableServiceUri: table,
    ...(settings.AzureWebJobsStorage__clientId ? { clientId: settings.AzureWebJobsStorage__clientId } : {}),
  };
}

/** Azurite's well-known development account (public, documented; not a secret). */
const developmentStorage = {
  account: 'devstoreaccount1',
  key: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
};

export function developmentStorageConnectionString(
  ports = { blob: 10000, queue: 10001, table: 10002 },
  host = '127.0.0.1',
): string {
  const base = `http://${host}`;
  return (
    `DefaultEndpointsProtocol=http;AccountName=${developmentStorage.account};AccountKey=${developmentStorage.key};` +
    `BlobEndpoint=${base}:${ports.blob}/${developmentStorage.account};QueueEndpoint=${base}:${ports.queue}/${developmentStorage.account};` +
    `TableEndpoint=${base}:${ports.table}/${developmentStorage.account};`
  );
}

/** Parses a storage connection string into service URIs; returns a reason string when it is unusable. */
export function storageFromConnectionString(raw: string): StorageSettings | string {
  const connectionString = raw === 'UseDevelopmentStorage=true' ? developmentStorageConnectionString() : raw;
  const parts = new Map<string, string>();
  for (const segment of connectionString.split(';')) {
    const separator = segment.indexOf('=');
    if (separator > 0) parts.set(segment.slice(0, separator).trim().toLowerCase(), segment.slice(separator + 1).trim());
  }
  const account = parts.get('accountname');
  const protocol = parts.get('defaultendpointsprotocol') ?? 'https';
  const suffix = parts.get('endpointsuffix') ?? 'core.windows.net';
  const endpoint = (service: string): string | undefined =>
    parts.get(`${service}endpoint`) ?? (account ? `${protocol}://${account}.${service}.${suffix}` : undefined);
  const blob = endpoint('blob');
  const queue = endpoint('queue');
  const table = endpoint('table');
  if (!blob || !queue || !table)
    return 'not a storage connection string (needs AccountName or Blob/Queue/TableEndpoint)';
  if (!parts.has('accountkey') && !parts.has('sharedaccesssignature'))
    return 'connection string has neither AccountKey nor SharedAccessSignature';
  return {
    kind: 'connectionString',
    connectionString,
    blobServiceUri: blob,
    queueServiceUri: queue,
    tableServiceUri: table,
  };
}

/**
 * Settings that function declarations reference as binding expressions (`%STORAGE_PREFIX%-tracking`,
 * `%SWEEPER_SCHEDULE%`). The Functions host resolves those from app settings alone, without our defaults, so
 * hosts get the effective values explicitly (the Bicep sets them too).
 */
export function bindingSettings(config: AppConfig): Record<string, string> {
  return {
    STORAGE_PREFIX: config.storagePrefix,
    SWEEPER_SCHEDULE: config.sweeperSchedule,
    ALERT_RELAY_SCHEDULE: config.alerts.relaySchedule,
    AUDIT_SCHEDULE: config.audit.schedule,
    CONNECTED_AUDIT_SCHEDULE: config.audit.connectedSchedule,
    CONSUMER_AUDIT_SCHEDULE: config.audit.consumerSchedule,
    REPORT_SCHEDULE: config.audit.reportSchedule,
  };
}

/** What /api/health/details and start-up logs may show: names and endpoints, never keys, passwords or SAS tokens. */
export function summarizeConfig(config: AppConfig): Record<string, unknown> {
  return {
    storage: {
      kind: config.storage.kind,
      blobServiceUri: config.storage.blobServiceUri,
      queueServiceUri: config.storage.queueServiceUri,
      tableServiceUri: config.storage.tableServiceUri,
      prefix: config.storagePrefix,
    },
    registries: config.registries.map((registry) => ({
      name: registry.name,
      loginServer: registry.loginServer,
      resourceId: registry.resourceId,
      auth: registry.auth.type,
    })),
    armEndpoint: config.armEndpoint,
    consumerScopes: config.consumerScopes,
    defaultPolicy: { mode: config.defaultPolicy.mode, tags: config.defaultPolicy.tags },
    alertChannels: alertChannelStatus(config),
  };
}

/** Every configured alert channel, enabled or disabled with the reason: names and setting names only. */
export function alertChannelStatus(
  config: AppConfig,
): Array<{ name: string; kind: string; status: 'enabled' | 'disabled'; reason?: string }> {
  return config.alertChannelKinds.map(([name, kind]) => {
    const reason = config.alerts.disabledChannels.get(name);
    return reason === undefined ? { name, kind, status: 'enabled' } : { name, kind, status: 'disabled', reason };
  });
}
