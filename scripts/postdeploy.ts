/**
 * azd postdeploy hook (infra/hooks/postdeploy.sh / .ps1 run it): after the code is deployed, subscribe
 * onRegistryEvent to each registry's events by deploying infra/eventgrid.bicep at subscription scope.
 *
 * - azd's own login: the ARM token comes from `azd auth token` (@azure/identity AzureDeveloperCliCredential); no
 *   `az login`. The template is compiled with the Bicep CLI azd installs for its own provisioning (on PATH, or
 *   ~/.azd/bin/bicep; docs/assumptions.md A10).
 * - One system topic per registry (Microsoft Learn, event-grid/system-topics): an existing topic of the registry is
 *   found by its `source` and used as it is — not PUT again, so its identity and other subscriptions stay.
 * - Safe to re-run: the deployment has a fixed name and every resource in it is a PUT of the same state.
 *
 * Reads azd's environment (azd passes it to hooks as environment variables).
 */
import { AzureDeveloperCliCredential } from '@azure/identity';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RegistryTarget {
  readonly name: string;
  readonly resourceGroup: string;
  readonly subscriptionId: string;
  readonly systemTopicName: string;
  readonly existingSystemTopic?: boolean;
  readonly existingTopicHasIdentity?: boolean;
  readonly [field: string]: unknown;
}

/** ARM over HTTP with azd's token; tests hand in their own. */
export type Arm = (method: 'GET' | 'PUT', path: string, body?: unknown) => Promise<{ status: number; json: unknown }>;

const eventGridApi = '2022-06-15';
const deploymentsApi = '2021-04-01';

interface SystemTopic {
  readonly name?: string;
  readonly identity?: { readonly userAssignedIdentities?: Record<string, unknown> | null };
  readonly properties?: { readonly source?: string };
}

/** Each target with the registry's existing system topic, if it has one, in place of the configured name. */
export async function resolveTopics(
  targets: readonly RegistryTarget[],
  identityId: string,
  arm: Arm,
): Promise<RegistryTarget[]> {
  const resolved: RegistryTarget[] = [];
  for (const target of targets) {
    const registryId =
      `/subscriptions/${target.subscriptionId}/resourceGroups/${target.resourceGroup}` +
      `/providers/Microsoft.ContainerRegistry/registries/${target.name}`;
    const listed = await arm(
      'GET',
      `/subscriptions/${target.subscriptionId}/resourceGroups/${target.resourceGroup}` +
        `/providers/Microsoft.EventGrid/systemTopics?api-version=${eventGridApi}`,
    );
    if (listed.status !== 200) throw new Error(`listing system topics of ${target.name} answered ${listed.status}`);
    const topics = ((listed.json as { value?: SystemTopic[] }).value ?? []).filter(
      (topic) => topic.properties?.source?.toLowerCase() === registryId.toLowerCase(),
    );
    const existing = topics[0];
    if (existing?.name === undefined) {
      resolved.push({ ...target, existingSystemTopic: false, existingTopicHasIdentity: false });
      continue;
    }
    const identities = Object.keys(existing.identity?.userAssignedIdentities ?? {}).map((id) => id.toLowerCase());
    resolved.push({
      ...target,
      systemTopicName: existing.name,
      existingSystemTopic: true,
      existingTopicHasIdentity: identities.includes(identityId.toLowerCase()),
    });
  }
  return resolved;
}

export interface PostdeployInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly arm: Arm;
  /** The compiled infra/eventgrid.bicep (ARM JSON). */
  readonly template: () => unknown;
  readonly log: (line: string) => void;
  readonly pollMs?: number;
}

const required = [
  'AZURE_SUBSCRIPTION_ID',
  'AZURE_LOCATION',
  'AZURE_FUNCTION_APP_ID',
  'AZURE_USER_ASSIGNED_IDENTITY_ID',
  'AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID',
  'AZURE_STORAGE_ACCOUNT_ID',
  'EVENTGRID_DEADLETTER_CONTAINER',
] as const;

/** Deploys the Event Grid subscriptions; returns the targets as deployed (with the topics found). */
export async function postdeploy(input: PostdeployInput): Promise<RegistryTarget[]> {
  const { env, arm, log } = input;
  const targets = JSON.parse(env.REGISTRY_TARGETS?.trim() || '[]') as RegistryTarget[];
  if (targets.length === 0) {
    log("postdeploy: no registries configured (infra/main.parameters.json 'registries'); no subscriptions created.");
    return [];
  }
  const missing = required.filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`postdeploy: azd outputs missing (${missing.join(', ')}); run azd provision`);
  const value = (name: (typeof required)[number]): string => env[name]!;
  const resolved = await resolveTopics(targets, value('AZURE_USER_ASSIGNED_IDENTITY_ID'), arm);
  for (const [index, target] of resolved.entries())
    if (target.systemTopicName !== targets[index]!.systemTopicName)
      log(
        `postdeploy: set "systemTopicName": "${target.systemTopicName}" for registry ${target.name} in the registries ` +
          'parameter and run azd provision, so the app reads that topic for the report (REGISTRIES systemTopic).',
      );
  for (const target of resolved.filter((candidate) => candidate.existingSystemTopic === true))
    log(
      `postdeploy: registry ${target.name} already has system topic ${target.systemTopicName}: subscribing to it` +
        (target.existingTopicHasIdentity ? '' : " (it lacks the app's identity: no dead-lettering)"),
    );
  const deployment =
    `/subscriptions/${value('AZURE_SUBSCRIPTION_ID')}/providers/Microsoft.Resources/deployments/` +
    `eventgrid-${env.AZURE_ENV_NAME || 'acr-streaming'}?api-version=${deploymentsApi}`;
  const put = await arm('PUT', deployment, {
    location: value('AZURE_LOCATION'),
    properties: {
      mode: 'Incremental',
      template: input.template(),
      parameters: {
        registryTargets: { value: resolved },
        functionAppId: { value: value('AZURE_FUNCTION_APP_ID') },
        identityId: { value: value('AZURE_USER_ASSIGNED_IDENTITY_ID') },
        principalId: { value: value('AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID') },
        deadLetterStorageAccountId: { value: value('AZURE_STORAGE_ACCOUNT_ID') },
        deadLetterContainerName: { value: value('EVENTGRID_DEADLETTER_CONTAINER') },
      },
    },
  });
  if (put.status !== 200 && put.status !== 201) throw new Error(`postdeploy: deployment answered ${put.status}`);
  for (;;) {
    const state = await arm('GET', deployment);
    const status = (state.json as { properties?: { provisioningState?: string } }).properties?.provisioningState;
    if (status === 'Succeeded') break;
    if (status === 'Failed' || status === 'Canceled')
      throw new Error(`postdeploy: deployment ${status}: ${JSON.stringify(state.json).slice(0, 2_000)}`);
    await new Promise((done) => setTimeout(done, input.pollMs ?? 5_000));
  }
  log(`postdeploy: Event Grid subscriptions in place for ${resolved.map((target) => target.name).join(', ')}.`);
  return resolved;
}

/** The Bicep CLI azd uses: on PATH, else the copy azd installs in ~/.azd/bin (A10). */
function compileTemplate(): unknown {
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'infra', 'eventgrid.bicep');
  const azdBicep = join(process.env.AZD_CONFIG_DIR ?? join(homedir(), '.azd'), 'bin', 'bicep');
  const candidates = ['bicep', ...(existsSync(azdBicep) ? [azdBicep] : [])];
  for (const bicep of candidates) {
    try {
      return JSON.parse(execFileSync(bicep, ['build', file, '--stdout'], { encoding: 'utf8' })) as unknown;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new Error('postdeploy: no Bicep CLI (run `azd provision` once, which installs it, or install bicep)');
}

function azdArm(endpoint = 'https://management.azure.com'): Arm {
  const credential = new AzureDeveloperCliCredential();
  return async (method, path, body) => {
    const token = await credential.getToken(`${endpoint}/.default`);
    const response = await fetch(`${endpoint}${path}`, {
      method,
      headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as unknown) };
  };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  postdeploy({ env: process.env, arm: azdArm(), template: compileTemplate, log: (line) => console.log(line) }).catch(
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exitCode = 1;
    },
  );
}
