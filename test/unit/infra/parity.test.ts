import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalog } from '../../../functions/catalog.js';
import { configSettingNames, loadConfig } from '../../../lib/config.js';
import { metricPrefix } from '../../../lib/core/metrics.js';
import { storagePrefixRule, storageResourceNames } from '../../../lib/storage/resources.js';
import {
  apiVersionProblems,
  appSettingNames,
  arrayVariable,
  bicepFiles,
  guidLiterals,
  objectKeys,
  outputNames,
  paramDecorators,
  resourceVersions,
  roleAssignmentNames,
  roleIdProblems,
  settingsParityProblems,
  stripComments,
  type SettingsParityInput,
  variableLine,
} from './bicep-text.js';

/*
 * No Bicep compiler can be installed here, so the infrastructure is checked as text: the app settings against
 * lib/config.ts and local.settings.sample.json, storage names against lib/storage/resources.ts, the Event Grid
 * target against functions/catalog.ts, role definition IDs against a table of verified built-in roles, API
 * versions against an allow-list. Syntax: bicep-syntax.test.ts (tree-sitter-bicep); `az bicep build` does the rest.
 */

const read = (path: string): string => readFileSync(path, 'utf8');
const files = bicepFiles('infra');
const apiBicep = read('infra/app/api.bicep');
const storageBicep = read('infra/app/storage.bicep');
const eventGridBicep = read('infra/app/eventgrid-registry.bicep');
const eventGridMain = read('infra/eventgrid.bicep');
const mainBicep = read('infra/main.bicep');
const sample = JSON.parse(read('local.settings.sample.json')) as { Values: Record<string, string> };

/** Settings the Functions runtime and platform read in Azure, allowed in the Bicep beside the schema. */
const bicepRuntimeSettings = new Set([
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'AzureWebJobsStorage__credential',
  'WEBSITE_AUTH_AAD_ALLOWED_TENANTS',
]);
/** Settings only the local host / Core Tools read. */
const sampleRuntimeSettings = new Set(['FUNCTIONS_WORKER_RUNTIME']);
/** Schema settings the Bicep deliberately does not set. */
const notInBicep = new Map([
  [
    'AzureWebJobsStorage',
    'a connection string carries an account key; the account has shared keys disabled and the identity-based AzureWebJobsStorage__* settings are used',
  ],
]);
/** Flex Consumption takes the runtime from functionAppConfig and rejects these app settings. */
const forbiddenInBicep = new Map([
  ['FUNCTIONS_WORKER_RUNTIME', 'Flex Consumption sets the runtime in functionAppConfig.runtime'],
  ['FUNCTIONS_EXTENSION_VERSION', 'Flex Consumption always runs Functions 4.x'],
  ['WEBSITE_NODE_DEFAULT_VERSION', 'Flex Consumption sets the Node version in functionAppConfig.runtime'],
  ['WEBSITE_RUN_FROM_PACKAGE', 'Flex Consumption deploys from functionAppConfig.deployment.storage'],
  [
    'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
    'Flex Consumption uses no content file share (and it needs an account key)',
  ],
  ['WEBSITE_CONTENTSHARE', 'Flex Consumption uses no content file share'],
]);

/**
 * Built-in roles (name → role definition ID), each checked against the role's JSON on
 * learn.microsoft.com/azure/role-based-access-control/built-in-roles/{category} (MicrosoftDocs/azure-docs
 * articles/role-based-access-control/built-in-roles/*.md). Any other ID in infra/ fails the test.
 */
const builtInRoles = new Map([
  ['AcrPush', '8311e382-0749-4cb8-b61a-304f252e45ec'], // containers.md
  ['AcrPull', '7f951dda-4ed3-4680-a7ca-43fe172d538d'], // containers.md (not assigned: AcrPush includes pull)
  ['Container Registry Repository Reader', 'b93aa761-3e63-49ed-ac28-beffa264f7ac'], // containers.md (preview)
  ['Container Registry Repository Writer', '2a1e307c-b015-4ebd-883e-5b7698a07328'], // containers.md (preview)
  ['Container Registry Repository Contributor', '2efddaa5-3f1f-4df3-97df-af3f13818f4c'], // containers.md (preview)
  ['Container Registry Repository Catalog Lister', 'bfdb9389-c9a5-478a-bb2f-ba9ca092c3c7'], // containers.md (preview)
  ['Reader', 'acdd72a7-3385-48ef-bd42-f606fba81ae7'], // general.md
  ['Storage Blob Data Owner', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'], // storage.md
  ['Storage Queue Data Contributor', '974c5e8b-45b9-4653-ba55-5f855dd0fb88'], // storage.md
  ['Storage Table Data Contributor', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'], // storage.md
  ['Monitoring Metrics Publisher', '3913510d-42f4-4e42-8a64-420c390055eb'], // monitor.md
  ['Key Vault Secrets User', '4633458b-17de-408a-b874-0445c86b69e6'], // security.md
]);
/** Roles that must never be assigned by this template (least privilege). */
const forbiddenRoles = new Map([
  ['8e3af657-a8ff-443c-a75c-2fe8c4bcb635', 'Owner'],
  ['b24988ac-6180-42a0-ab88-20f7382dd24c', 'Contributor'],
  ['18d7d88d-d35e-4fb5-a5c3-7773c20a72d9', 'User Access Administrator'],
  ['f58310d9-a9f6-439a-9e8d-f62e7b41a168', 'Role Based Access Control Administrator'],
]);

/**
 * API versions per resource type, each documented in the Azure template reference
 * (learn.microsoft.com/azure/templates/{provider}/{version}/{type}) or used by Microsoft's own azd Functions
 * templates (Azure-Samples/functions-quickstart-typescript-azd: Microsoft.Web/sites@2023-12-01 with
 * functionAppConfig). Adding a type or a version is a deliberate, reviewed change to this list.
 */
const storageVersion = ['2023-05-01'];
const allowedApiVersions = new Map<string, readonly string[]>([
  ['Microsoft.Resources/resourceGroups', ['2022-09-01']],
  ['Microsoft.ManagedIdentity/userAssignedIdentities', ['2023-01-31']],
  ['Microsoft.OperationalInsights/workspaces', ['2023-09-01']],
  ['Microsoft.Insights/components', ['2020-02-02']],
  ['Microsoft.Insights/actionGroups', ['2023-01-01']],
  ['Microsoft.Insights/scheduledQueryRules', ['2021-08-01']],
  ['Microsoft.KeyVault/vaults', ['2023-07-01']],
  ['Microsoft.Storage/storageAccounts', storageVersion],
  ['Microsoft.Storage/storageAccounts/blobServices', storageVersion],
  ['Microsoft.Storage/storageAccounts/blobServices/containers', storageVersion],
  ['Microsoft.Storage/storageAccounts/queueServices', storageVersion],
  ['Microsoft.Storage/storageAccounts/queueServices/queues', storageVersion],
  ['Microsoft.Storage/storageAccounts/tableServices', storageVersion],
  ['Microsoft.Storage/storageAccounts/tableServices/tables', storageVersion],
  ['Microsoft.Authorization/roleAssignments', ['2022-04-01']],
  ['Microsoft.ContainerRegistry/registries', ['2023-07-01']],
  ['Microsoft.Web/serverfarms', ['2023-12-01']],
  ['Microsoft.Web/sites', ['2023-12-01']],
  ['Microsoft.Web/sites/config', ['2023-12-01']],
  ['Microsoft.EventGrid/systemTopics', ['2022-06-15']],
  ['Microsoft.EventGrid/systemTopics/eventSubscriptions', ['2022-06-15']],
]);

const parityInput = (overrides: Partial<SettingsParityInput> = {}): SettingsParityInput => ({
  schema: configSettingNames,
  bicep: appSettingNames(apiBicep),
  sample: Object.keys(sample.Values),
  bicepRuntime: bicepRuntimeSettings,
  sampleRuntime: sampleRuntimeSettings,
  notInBicep,
  forbiddenInBicep,
  ...overrides,
});

/** Names of the Event Grid functions the subscriptions target (functionName param defaults and arguments). */
function eventGridTargets(...texts: string[]): string[] {
  return texts.flatMap((text) =>
    [...stripComments(text).matchAll(/functionName(?:\s+string\s*=|\s*:)\s*'([^']+)'/g)].map((m) => m[1]!),
  );
}

function eventGridTargetProblems(targets: readonly string[]): string[] {
  if (targets.length === 0) return ['no Event Grid subscription names a function'];
  return targets.flatMap((name) => {
    const declaration = catalog.find((fn) => fn.name === name);
    if (declaration === undefined)
      return [`Event Grid subscription targets function ${name}, which is not in functions/catalog.ts`];
    if (declaration.trigger.type !== 'eventGrid')
      return [
        `Event Grid subscription targets function ${name}, whose trigger is ${declaration.trigger.type}, not eventGrid`,
      ];
    return [];
  });
}

/** Storage names expected from lib/storage/resources.ts, with the Bicep's own interpolation as the prefix. */
function storageNameProblems(expected: ReturnType<typeof storageResourceNames>, bicep: string): string[] {
  const problems: string[] = [];
  const compare = (kind: string, want: readonly string[], have: readonly string[]): void => {
    for (const name of want)
      if (!have.includes(name))
        problems.push(`${kind} ${name} (lib/storage/resources.ts) is missing from infra/app/storage.bicep`);
    for (const name of have)
      if (!want.includes(name))
        problems.push(`${kind} ${name} is in infra/app/storage.bicep but not in lib/storage/resources.ts`);
  };
  compare('table', Object.values(expected.tables), arrayVariable(bicep, 'tableNames'));
  compare(
    'queue',
    Object.values(expected.queues).flatMap((queue) => [queue, `${queue}-poison`]),
    arrayVariable(bicep, 'queueNames'),
  );
  compare('container', Object.values(expected.containers), arrayVariable(bicep, 'appContainerNames'));
  return problems;
}

// The Bicep writes names as '${prefix}Conversions': the same derivation with the interpolation text as the prefix.
const bicepPrefix = '$' + '{prefix}';

describe('infra: app settings parity (lib/config.ts ↔ Bicep ↔ local.settings.sample.json)', () => {
  it('reads the literal app settings of the function app', () => {
    const names = appSettingNames(apiBicep);
    expect(names).toContain('STORAGE_PREFIX');
    expect(names).toContain('APPLICATIONINSIGHTS_CONNECTION_STRING');
    expect(names.length).toBeGreaterThan(20);
  });

  it('sets every schema setting under the same name, and nothing outside the schema but the runtime allow-list', () => {
    expect(settingsParityProblems(parityInput())).toEqual([]);
  });

  it('sets the binding settings the triggers reference (%STORAGE_PREFIX%, %…_SCHEDULE%) explicitly', () => {
    const names = appSettingNames(apiBicep);
    const referenced = ['STORAGE_PREFIX', ...configSettingNames.filter((name) => name.endsWith('_SCHEDULE'))];
    expect(referenced).toEqual(expect.arrayContaining(['SWEEPER_SCHEDULE', 'ALERT_RELAY_SCHEDULE']));
    expect(referenced.filter((name) => !names.includes(name))).toEqual([]);
  });

  it('fails, naming the setting, when a setting is added to the Bicep only', () => {
    const modified = apiBicep.replace(
      'STORAGE_PREFIX: storagePrefix',
      "STORAGE_PREFIX: storagePrefix\n      BICEP_ONLY_SETTING: 'x'",
    );
    const problems = settingsParityProblems(parityInput({ bicep: appSettingNames(modified) }));
    expect(problems).toEqual([
      'Bicep app setting BICEP_ONLY_SETTING is neither in lib/config.ts configSettingNames nor in the runtime allow-list',
    ]);
  });

  it('fails, naming the setting, when a setting is added to the schema only', () => {
    const problems = settingsParityProblems(parityInput({ schema: [...configSettingNames, 'SCHEMA_ONLY_SETTING'] }));
    expect(problems).toEqual([
      'setting SCHEMA_ONLY_SETTING is in lib/config.ts configSettingNames but not in the Bicep app settings (infra/app/api.bicep)',
      'setting SCHEMA_ONLY_SETTING is in lib/config.ts configSettingNames but not in local.settings.sample.json',
    ]);
  });

  it('fails, naming the setting, when a setting is removed from the Bicep or added to the sample only', () => {
    const withoutSweeper = apiBicep.replace(/^\s*SWEEPER_SCHEDULE: .*$/m, '');
    expect(settingsParityProblems(parityInput({ bicep: appSettingNames(withoutSweeper) }))).toEqual([
      'setting SWEEPER_SCHEDULE is in lib/config.ts configSettingNames but not in the Bicep app settings (infra/app/api.bicep)',
    ]);
    expect(settingsParityProblems(parityInput({ sample: [...Object.keys(sample.Values), 'SAMPLE_ONLY'] }))).toEqual([
      'local.settings.sample.json setting SAMPLE_ONLY is neither in lib/config.ts configSettingNames nor in the local runtime allow-list',
    ]);
  });

  it('rejects settings Flex Consumption does not allow', () => {
    const modified = apiBicep.replace(
      'STORAGE_PREFIX: storagePrefix',
      "STORAGE_PREFIX: storagePrefix\n      FUNCTIONS_WORKER_RUNTIME: 'node'",
    );
    expect(settingsParityProblems(parityInput({ bicep: appSettingNames(modified) }))).toEqual([
      'Bicep app setting FUNCTIONS_WORKER_RUNTIME must not be set: Flex Consumption sets the runtime in functionAppConfig.runtime',
    ]);
  });

  it('is not fooled by comments or strings that look like settings', () => {
    const text = "x: {\n  A: 'B: no'\n  // C: commented\n  D: {\n    E: 1\n  }\n  'F-G': '''\nH: multi\n'''\n}";
    expect(objectKeys(stripComments(text), text.indexOf('{'))).toEqual(['A', 'D', 'F-G']);
  });
});

describe('infra: storage names (lib/storage/resources.ts ↔ infra/app/storage.bicep)', () => {
  it('creates every table, queue with its -poison twin, and container the app derives from STORAGE_PREFIX', () => {
    expect(storageNameProblems(storageResourceNames(bicepPrefix), storageBicep)).toEqual([]);
  });

  it('fails, naming the queue, when the app gains a queue the Bicep does not create', () => {
    const names = storageResourceNames(bicepPrefix);
    const withExtra = { ...names, queues: { ...names.queues, reports: `${bicepPrefix}-reportjobs` } };
    expect(storageNameProblems(withExtra, storageBicep)).toEqual([
      'queue ${prefix}-reportjobs (lib/storage/resources.ts) is missing from infra/app/storage.bicep',
      'queue ${prefix}-reportjobs-poison (lib/storage/resources.ts) is missing from infra/app/storage.bicep',
    ]);
  });
});

describe('infra: Event Grid subscription → functions/catalog.ts', () => {
  it('targets only functions that exist with an Event Grid trigger', () => {
    const targets = eventGridTargets(eventGridBicep, eventGridMain);
    expect(targets).toContain('onRegistryEvent');
    expect(eventGridTargetProblems(targets)).toEqual([]);
  });

  it('fails, naming the function, when the subscription targets a function that is missing or not Event Grid', () => {
    expect(
      eventGridTargetProblems(
        eventGridTargets(
          eventGridBicep.replace("functionName string = 'onRegistryEvent'", "functionName string = 'onRegistryEvents'"),
        ),
      ),
    ).toEqual(['Event Grid subscription targets function onRegistryEvents, which is not in functions/catalog.ts']);
    expect(eventGridTargetProblems(['trackConversion'])).toEqual([
      'Event Grid subscription targets function trackConversion, whose trigger is storageQueue, not eventGrid',
    ]);
  });

  it('delivers ImagePushed/ImageDeleted in the Event Grid schema to the function, with retries and an identity-based dead letter', () => {
    const text = stripComments(eventGridBicep);
    expect(text).toMatch(/endpointType:\s*'AzureFunction'/);
    expect(text).toMatch(/resourceId:\s*'\$\{functionAppId\}\/functions\/\$\{functionName\}'/);
    expect(text).toContain("'Microsoft.ContainerRegistry.ImagePushed'");
    expect(text).toContain("'Microsoft.ContainerRegistry.ImageDeleted'");
    expect(text).toMatch(/eventDeliverySchema:\s*'EventGridSchema'/);
    expect(text).toMatch(/topicType:\s*'Microsoft\.ContainerRegistry\.Registries'/);
    expect(text).toMatch(/retryPolicy:\s*\{[^}]*maxDeliveryAttempts:[^}]*eventTimeToLiveInMinutes:/);
    expect(text).toMatch(/deadLetterWithResourceIdentity:[\s\S]*endpointType:\s*'StorageBlob'/);
  });
});

describe('infra: role assignments', () => {
  const ids = files.flatMap((file) => guidLiterals(read(file)));

  it('uses only role definition IDs from the table of verified built-in roles, and no broad role', () => {
    expect(ids.length).toBeGreaterThan(0);
    expect(roleIdProblems(ids, builtInRoles, forbiddenRoles)).toEqual([]);
  });

  it('fails, naming the ID, for an unknown or a broad role', () => {
    expect(roleIdProblems(['0a9a7e1f-b9d0-4cc4-a60d-0319b160ff3d'], builtInRoles, forbiddenRoles)).toEqual([
      'role definition 0a9a7e1f-b9d0-4cc4-a60d-0319b160ff3d is not in the table of verified built-in roles',
    ]);
    expect(roleIdProblems(['b24988ac-6180-42a0-ab88-20f7382dd24c'], builtInRoles, forbiddenRoles)).toEqual([
      'role definition b24988ac-6180-42a0-ab88-20f7382dd24c (Contributor) is too broad and must not be assigned',
    ]);
  });

  it('names every assignment guid(scope, principal, role)', () => {
    const assignments = files.flatMap((file) =>
      roleAssignmentNames(read(file)).map((assignment) => ({ file, ...assignment })),
    );
    expect(assignments.length).toBeGreaterThanOrEqual(7);
    const bad = assignments.filter(
      ({ guidArguments }) =>
        guidArguments === undefined || guidArguments.length !== 3 || !/principalId/i.test(guidArguments[1]!),
    );
    expect(bad).toEqual([]);
  });

  it("grants storage data roles on the app's own account only, and registry roles at the registry", () => {
    const rbac = stripComments(read('infra/app/rbac.bicep'));
    expect([...rbac.matchAll(/scope:\s*(\w+)/g)].map((m) => m[1])).toEqual([
      'storage',
      'storage',
      'storage',
      'vault',
      'appInsights',
    ]);
    const registry = stripComments(read('infra/app/registry-access.bicep'));
    expect([...registry.matchAll(/scope:\s*(\w+)/g)].map((m) => m[1])).toEqual(['registry', 'registry']);
  });
});

describe('infra: API versions', () => {
  it('uses only documented API versions from the allow-list', () => {
    const versions = files.flatMap((file) => resourceVersions(read(file)));
    expect(versions.length).toBeGreaterThan(20);
    expect(apiVersionProblems(versions, allowedApiVersions)).toEqual([]);
  });

  it('fails, naming the type and version, for a version outside the list', () => {
    const modified = apiBicep.replace("'Microsoft.Web/sites@2023-12-01'", "'Microsoft.Web/sites@2099-01-01-preview'");
    expect(apiVersionProblems(resourceVersions(modified), allowedApiVersions)).toEqual([
      'Microsoft.Web/sites@2099-01-01-preview is not an allowed API version (allowed: 2023-12-01)',
    ]);
  });
});

describe('infra: hardening and azd wiring', () => {
  it('runs Node 20 on Flex Consumption, HTTPS only with TLS 1.2, identity-based storage without shared keys', () => {
    const api = stripComments(apiBicep);
    expect(api).toMatch(/sku:\s*\{\s*name:\s*'FC1',\s*tier:\s*'FlexConsumption'\s*\}/);
    expect(api).toMatch(/runtime:\s*\{\s*name:\s*'node'\s*version:\s*'20'\s*\}/);
    expect(api).toMatch(/httpsOnly:\s*true/);
    expect(api).toMatch(/minTlsVersion:\s*'1\.2'/);
    expect(api).toMatch(/AzureWebJobsStorage__credential:\s*'managedidentity'/);
    const storage = stripComments(storageBicep);
    expect(storage).toMatch(/allowSharedKeyAccess:\s*false/);
    expect(storage).toMatch(/minimumTlsVersion:\s*'TLS1_2'/);
  });

  it('requires Entra ID authentication for everything but health, the OpenAPI document and the Event Grid webhook', () => {
    const api = stripComments(apiBicep);
    expect(api).toMatch(/requireAuthentication:\s*true/);
    expect(api).toMatch(/unauthenticatedClientAction:\s*'Return401'/);
    const open = api.indexOf('[', api.indexOf('excludedPaths:'));
    expect(api.slice(open, api.indexOf(']', open))).toMatch(
      /^\[\s*'\/api\/health'\s*'\/api\/openapi\.json'\s*'\/runtime\/webhooks\/eventgrid'\s*'\/runtime\/webhooks\/EventGrid'\s*$/,
    );
  });

  it('keeps /api/health/details behind authentication: neither listed nor under a wildcard (issue #17 §4)', () => {
    const api = stripComments(apiBicep);
    const open = api.indexOf('[', api.indexOf('excludedPaths:'));
    const paths = [...api.slice(open, api.indexOf(']', open)).matchAll(/'([^']+)'/g)].map((m) => m[1]!);
    // An entry covers paths below it only with a trailing `/*` (MicrosoftDocs/azure-docs#86514; docs/assumptions.md
    // A13): `/api/health` alone leaves `/api/health/details` to authentication.
    expect(paths).not.toContain('/api/health/details');
    expect(paths.filter((path) => path.includes('*'))).toEqual([]);
  });

  it('outputs UPPER_SNAKE names for azd', () => {
    const outputs = [...outputNames(mainBicep), ...outputNames(eventGridMain)];
    expect(outputs).toEqual(expect.arrayContaining(['SERVICE_API_NAME', 'AZURE_FUNCTION_APP_ID', 'REGISTRY_TARGETS']));
    expect(outputs.filter((name) => !/^[A-Z][A-Z0-9_]*$/.test(name))).toEqual([]);
  });

  it('declares the azd service and a postdeploy hook (sh and pwsh) that deploys infra/eventgrid.bicep (scripts/postdeploy.ts)', () => {
    const azureYaml = read('azure.yaml');
    expect(azureYaml).toMatch(/services:\s*\n\s+api:\s*\n\s+project: \.\/\s*\n\s+language: ts\s*\n\s+host: function/);
    expect(azureYaml).toMatch(/postdeploy:/);
    for (const script of ['infra/hooks/postdeploy.sh', 'infra/hooks/postdeploy.ps1']) {
      expect(azureYaml).toContain(`./${script}`);
      expect(existsSync(script)).toBe(true);
      expect(read(script)).toContain('scripts/postdeploy.ts');
    }
    expect(read('scripts/postdeploy.ts')).toContain("'eventgrid.bicep'");
  });
});

describe('infra: parameters validated like the app (issue #16 §4)', () => {
  it('requires a non-empty authClientId (an empty one would deploy App Service Authentication with no app)', () => {
    expect(paramDecorators(mainBicep, 'authClientId')).toContain('@minLength(1)');
    expect(mainBicep).not.toMatch(/^param authClientId string\s*=/m);
  });

  // One rule: lib/storage/resources.ts storagePrefixRule. lib/config.ts validates STORAGE_PREFIX with it; the
  // Bicep writes the same lengths as decorators and the same alphabets as variables, and fails the deployment
  // (Bicep fail(), learn.microsoft.com/azure/azure-resource-manager/bicep/bicep-functions-flow-control) otherwise.
  const decorators = paramDecorators(mainBicep, 'storagePrefix');
  const literal = (name: string): string => {
    const line = variableLine(mainBicep, name);
    expect(line).toMatch(/^'[^']*'$/);
    return line.slice(1, -1);
  };

  it('writes the rule of lib/config.ts into main.bicep: lengths as decorators, alphabets as variables', () => {
    expect(decorators).toContain(`@minLength(${storagePrefixRule.minLength})`);
    expect(decorators).toContain(`@maxLength(${storagePrefixRule.maxLength})`);
    expect(literal('storagePrefixFirst')).toBe(storagePrefixRule.first);
    expect(literal('storagePrefixRest')).toBe(storagePrefixRule.rest);
    // The check itself, as written; contains() on strings is case-sensitive (ARM template functions, string).
    expect(variableLine(mainBicep, 'checkedStoragePrefix')).toBe(
      'contains(storagePrefixFirst, substring(storagePrefix, 0, 1)) && empty(filter(map(range(0, length(storagePrefix)), ' +
        "i => substring(storagePrefix, i, 1)), c => !contains(storagePrefixRest, c))) ? storagePrefix : fail('storagePrefix " +
        "must be lowercase letters and digits, starting with a letter (the rule of STORAGE_PREFIX in lib/config.ts)')",
    );
    // Everything downstream uses the checked value, never the raw parameter (`storagePrefix:` keys are modules').
    const rawUses = stripComments(mainBicep)
      .split('\n')
      .filter((line) => /\bstoragePrefix\b(?!\s*:)/.test(line))
      .filter((line) => !/^(param storagePrefix |var checkedStoragePrefix )/.test(line));
    expect(rawUses).toEqual([]);
  });

  it.each([
    ['streaming', true],
    ['abc', true],
    ['a1234567890123456789', true],
    ['ab', false],
    ['a12345678901234567890', false],
    ['Streaming', false],
    ['1stream', false],
    ['stream-ing', false],
    ['stream_ing', false],
    ['streamé', false],
  ])('accepts or refuses %s the same on both sides (%s)', (prefix, valid) => {
    const min = Number(/@minLength\((\d+)\)/.exec(decorators.join('\n'))![1]);
    const max = Number(/@maxLength\((\d+)\)/.exec(decorators.join('\n'))![1]);
    // The Bicep expression, evaluated as ARM would: decorators first, then the alphabets.
    const chars = [...prefix];
    const bicep =
      prefix.length >= min &&
      prefix.length <= max &&
      literal('storagePrefixFirst').includes(chars[0]!) &&
      chars.every((c) => literal('storagePrefixRest').includes(c));
    const app = ((): boolean => {
      try {
        loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', STORAGE_PREFIX: prefix });
        return true;
      } catch {
        return false;
      }
    })();
    expect({ bicep, app }).toEqual({ bicep: valid, app: valid });
  });
});

describe('infra: Azure Monitor rule on events from unknown topics (issue #17 §5)', () => {
  const alerts = stripComments(read('infra/app/alerts.bicep'));

  it('alerts on the event.rejected metric the app emits for a topic that is not a configured registry', () => {
    const start = alerts.indexOf("resource unknownTopicEvents 'Microsoft.Insights/scheduledQueryRules@2021-08-01'");
    expect(start).toBeGreaterThanOrEqual(0);
    const end = alerts.indexOf('\nresource ', start + 1);
    const rule = alerts.slice(start, end === -1 ? undefined : end);
    expect(rule).toContain("name: '${namePrefix}-unknown-topic-events'");
    expect(rule).toContain('actions: { actionGroups: [actionGroup.id] }');
    expect(rule).toMatch(/operator: 'GreaterThan'\s+threshold: 0\b/);
    // The query counts exactly what the service logs for such an event (metric name, dimension and value).
    expect(rule).toContain(`| where message startswith "${metricPrefix}"`);
    expect(rule).toContain('tostring(m.metric) == "event.rejected" and tostring(m.cause) == "unknown-topic"');
    const runbook = /Runbook: docs\/operations\.md#([a-z0-9-]+)/.exec(rule)?.[1];
    const anchors = [...read('docs/operations.md').matchAll(/^#+ (.+)$/gm)].map((heading) =>
      heading[1]!
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-'),
    );
    expect(anchors).toContain(runbook);
  });
});

describe('infra: deploys twice (issue #16 §4)', () => {
  it('leaves Key Vault purge protection off by default, so `azd down --purge` then `azd up` reuses the name', () => {
    expect(mainBicep).toMatch(/^param keyVaultPurgeProtection bool = false$/m);
    // With purge protection once on, a new name is the way out: the seed goes into the vault's name.
    expect(mainBicep).toMatch(/^param keyVaultNameSeed string = ''$/m);
    expect(stripComments(mainBicep)).toMatch(/name: 'kv-\$\{.*keyVaultNameSeed.*\}'/);
  });

  it('excludes the Event Grid webhook from authentication in both spellings the runtime accepts', () => {
    const api = stripComments(apiBicep);
    const open = api.indexOf('[', api.indexOf('excludedPaths:'));
    const paths = [...api.slice(open, api.indexOf(']', open)).matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/health',
        '/api/openapi.json',
        '/runtime/webhooks/eventgrid',
        '/runtime/webhooks/EventGrid',
      ]),
    );
  });

  it('keeps the traces Azure Monitor rules count out of Application Insights sampling (host.json excludedTypes)', () => {
    // learn.microsoft.com/azure/azure-functions/functions-host-json#applicationinsightssamplingsettings:
    // excludedTypes, "a semi-colon delimited list of types that you don't want to be sampled"; Trace is one.
    const host = JSON.parse(read('host.json')) as {
      logging: { applicationInsights: { samplingSettings: { isEnabled: boolean; excludedTypes?: string } } };
    };
    const sampling = host.logging.applicationInsights.samplingSettings;
    const excluded = (sampling.excludedTypes ?? '').split(';').map((type) => type.trim());
    expect(sampling.isEnabled === false || excluded.includes('Trace')).toBe(true);
    expect(read('infra/app/alerts.bicep')).toMatch(/^traces$/m);
  });
});
