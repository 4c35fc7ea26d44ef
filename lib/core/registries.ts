import { z } from 'zod';

/**
 * A registry this app serves, as the operator configures it (REGISTRIES), and the grammar of registry names. ACR
 * names are 5–50 alphanumerics; 2 is allowed here so short local names work in the sandbox and tests.
 */
export const registryNamePattern = /^[a-zA-Z0-9]{2,50}$/;
export const registryNameSchema = z.string().regex(registryNamePattern, 'letters and digits, 2 to 50');

/** `all`, one registry name, or several joined by `,` (the scope of a compliance report). */
export const registryListPattern = new RegExp(
  `^(all|${registryNamePattern.source.slice(1, -1)}(,${registryNamePattern.source.slice(1, -1)})*)$`,
);

/** The name of another app setting (secrets are never inline: a setting names the setting that holds them). */
/**
 * Fills the `{registry}` that texts written once for every registry carry (the failure catalogue) with the real
 * name, so a reader can run the call as written (issue #18 § 6). Rows and outbox events stored before that fix still
 * hold the placeholder; their readers pass them through here too.
 */
export function forRegistry(text: string, registry: string): string {
  return text.replaceAll('{registry}', registry);
}

export const appSettingNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
const loginServerPattern = /^[a-z0-9.-]+(:\d{1,5})?$/i;

export const registryAuthSchema = z.discriminatedUnion('type', [
  /** Entra ID (managed identity in Azure, DefaultAzureCredential locally) → /oauth2/exchange → /oauth2/token. */
  z.object({ type: z.literal('identity') }).strict(),
  /**
   * Admin user or a repository-scoped token. The password is never put in this JSON: it names another setting
   * (which in Azure is a Key Vault reference), so the secret stays out of anything that prints this list.
   */
  z
    .object({
      type: z.literal('password'),
      username: z.string().min(1),
      passwordSetting: z.string().regex(appSettingNamePattern, 'must be an app setting name'),
    })
    .strict(),
]);

export const registrySettingsSchema = z
  .object({
    /** The name used in routes and tables; normally the ARM name of the registry. */
    name: registryNameSchema,
    /** `myreg.azurecr.io` (or `host:port`); the data-plane endpoint is `https://{loginServer}`. */
    loginServer: z.string().regex(loginServerPattern, 'a host name, optionally with :port'),
    /** ARM resource ID: Event Grid events carry it as `topic`; events from any other topic are rejected. */
    resourceId: z
      .string()
      .regex(
        /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/registries\/[^/]+$/i,
        'an ARM ID /subscriptions/…/resourceGroups/…/providers/Microsoft.ContainerRegistry/registries/…',
      ),
    auth: registryAuthSchema.default({ type: 'identity' }),
    /**
     * Name of the registry's Event Grid system topic, in the registry's resource group (the Bicep sets it). The
     * report's subscription check reads that topic, which Reader on the topic allows; without it the check lists the
     * resource group's topics, which needs Reader on the resource group.
     */
    systemTopic: z
      .string()
      .regex(/^[A-Za-z0-9-]{3,128}$/, 'letters, digits and -, 3 to 128')
      .optional(),
  })
  .strict();

export type RegistryAuthSettings = z.infer<typeof registryAuthSchema>;
export type RegistrySettings = z.infer<typeof registrySettingsSchema>;
