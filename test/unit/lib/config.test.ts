import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  developmentStorageConnectionString,
  loadConfig,
  summarizeConfig,
} from '../../../lib/config.js';

const registry = {
  name: 'sandbox',
  loginServer: 'localhost:44301',
  resourceId: '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/sandbox',
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('loadConfig', () => {
  it('reads a connection string, registries and defaults', () => {
    const config = loadConfig({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      REGISTRIES: JSON.stringify([registry]),
    });

    expect(config.storage.kind).toBe('connectionString');
    expect(config.storage.tableServiceUri).toBe('http://127.0.0.1:10002/devstoreaccount1');
    expect(config.storagePrefix).toBe('streaming');
    expect(config.registries).toEqual([{ ...registry, auth: { type: 'identity' } }]);
    expect(config.armEndpoint).toBe('https://management.azure.com');
  });

  it('supports identity-based storage connections', () => {
    const config = loadConfig({ AzureWebJobsStorage__accountName: 'acct', AzureWebJobsStorage__clientId: 'client-1' });

    expect(config.storage).toEqual({
      kind: 'identity',
      blobServiceUri: 'https://acct.blob.core.windows.net',
      queueServiceUri: 'https://acct.queue.core.windows.net',
      tableServiceUri: 'https://acct.table.core.windows.net',
      clientId: 'client-1',
    });
  });

  it('lists every problem in one error, naming settings but never values', () => {
    const problems = problemsOf({
      AzureWebJobsStorage: 'not-a-connection-string',
      STORAGE_PREFIX: 'Bad-Prefix',
      REGISTRIES: '[{"name":"x","loginServer":"a b","resourceId":"nope"}]',
      ARM_ENDPOINT: 'http://insecure.example',
    });

    expect(problems.join('\n')).toMatch(/STORAGE_PREFIX/);
    expect(problems.join('\n')).toMatch(/REGISTRIES\.0\.name/);
    expect(problems.join('\n')).toMatch(/REGISTRIES\.0\.loginServer/);
    expect(problems.join('\n')).toMatch(/REGISTRIES\.0\.resourceId/);
    expect(problems.join('\n')).toMatch(/ARM_ENDPOINT/);
  });

  it('reads CONSUMER_SCOPES as a list of ARM scopes and refuses anything else, naming the setting', () => {
    const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', REGISTRIES: JSON.stringify([registry]) };
    const scopes = [
      '/subscriptions/s1',
      '/subscriptions/s1/resourceGroups/aks-rg',
      '/subscriptions/s1/resourceGroups/aks-rg/providers/Microsoft.ContainerService/managedClusters/aks1',
    ];
    expect(loadConfig({ ...base, CONSUMER_SCOPES: ` ${scopes.join(' , ')} ` }).consumerScopes).toEqual(scopes);
    expect(loadConfig(base).consumerScopes).toEqual([]);

    const problems = problemsOf({ ...base, CONSUMER_SCOPES: '/subscriptions/s1,/providers/Microsoft.Compute/vm1' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^CONSUMER_SCOPES: .*is not a consumer scope/);
  });

  it('reports missing storage and an unset password setting together', () => {
    const problems = problemsOf({
      REGISTRIES: JSON.stringify([
        { ...registry, auth: { type: 'password', username: 'admin', passwordSetting: 'SANDBOX_PASSWORD' } },
      ]),
    });

    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/AzureWebJobsStorage: not set/);
    expect(problems[1]).toMatch(/SANDBOX_PASSWORD is not set/);
  });

  it('rejects REGISTRIES that is not JSON and duplicate registry names', () => {
    expect(problemsOf({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', REGISTRIES: '[oops' })[0]).toMatch(
      /REGISTRIES: not valid JSON/,
    );
    expect(
      problemsOf({
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        REGISTRIES: JSON.stringify([registry, registry]),
      })[0],
    ).toMatch(/duplicate registry name/);
  });

  it('rejects unknown registry fields instead of ignoring a typo', () => {
    const problems = problemsOf({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      REGISTRIES: JSON.stringify([{ ...registry, loginserver: 'x' }]),
    });
    expect(problems[0]).toMatch(/REGISTRIES\.0/);
  });
});

describe('summarizeConfig', () => {
  it('shows endpoints and registry names but no key, password or connection string', () => {
    const secretPassword = 'p4ssw0rd-that-must-not-leak';
    const config = loadConfig({
      AzureWebJobsStorage: developmentStorageConnectionString(),
      REGISTRIES: JSON.stringify([
        { ...registry, auth: { type: 'password', username: 'admin', passwordSetting: 'PW' } },
      ]),
      PW: secretPassword,
    });

    const summary = JSON.stringify(summarizeConfig(config));

    expect(summary).toContain('localhost:44301');
    expect(summary).not.toContain(secretPassword);
    expect(summary).not.toContain('AccountKey');
    expect(summary).not.toContain('Eby8vdM02');
    expect(config.registryPasswords.get('sandbox')).toBe(secretPassword);
  });
});

/**
 * Issue #16 §4: a channel whose URL or signing secret is missing or unresolved is disabled — with the reason,
 * never the value — and the app starts with its other channels. App Service passes a Key Vault reference it could
 * not resolve through as its own text, `@Microsoft.KeyVault(...)` (learn.microsoft.com/azure/app-service/
 * app-service-key-vault-references, "Troubleshoot Key Vault references": "If a reference isn't resolved properly,
 * the reference string is used instead").
 */
describe('loadConfig: alert channels whose secrets are missing', () => {
  const channels = [
    { name: 'ops', kind: 'webhook', urlSetting: 'OPS_URL', secretSetting: 'OPS_SECRET' },
    { name: 'team', kind: 'teams', urlSetting: 'TEAM_URL' },
  ];
  const base = {
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    ALERT_CHANNELS: JSON.stringify(channels),
    OPS_URL: 'https://hooks.example.com/ops',
    OPS_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    TEAM_URL: 'https://prod.example.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=abc',
  };
  const unresolved = '@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/ops-url/)';

  it.each([
    ['the URL setting is absent', { OPS_URL: undefined }, 'setting OPS_URL is not set'],
    [
      'the URL is an unresolved Key Vault reference',
      { OPS_URL: unresolved },
      'setting OPS_URL is an unresolved Key Vault reference',
    ],
    ['the URL is not https', { OPS_URL: 'http://hooks.example.com/ops' }, 'setting OPS_URL must hold an https:// URL'],
    [
      'the secret is an unresolved Key Vault reference',
      { OPS_SECRET: unresolved.replace('ops-url', 'ops-secret') },
      'setting OPS_SECRET is an unresolved Key Vault reference',
    ],
    [
      'the secret is not a whsec_ secret',
      { OPS_SECRET: 'hunter2' },
      'setting OPS_SECRET must hold a whsec_… Standard Webhooks secret',
    ],
  ])('disables that channel only when %s', (_why, change, reason) => {
    const config = loadConfig({ ...base, ...change });

    expect(config.alerts.channels.map((channel) => channel.name)).toEqual(['team']);
    expect([...config.alerts.channelSecrets.keys()]).toEqual(['team']);
    expect([...config.alerts.disabledChannels]).toEqual([['ops', reason]]);
    expect(JSON.stringify([...config.alerts.disabledChannels])).not.toContain('hunter2');
    expect(JSON.stringify([...config.alerts.disabledChannels])).not.toContain('kv-x');
  });

  it('keeps every channel when all resolve, and still refuses a malformed ALERT_CHANNELS', () => {
    const config = loadConfig(base);
    expect(config.alerts.channels.map((channel) => channel.name)).toEqual(['ops', 'team']);
    expect(config.alerts.disabledChannels.size).toBe(0);
    expect(problemsOf({ ...base, ALERT_CHANNELS: '[{"name":"x"}]' }).length).toBeGreaterThan(0);
  });

  it('summarizes enabled and disabled channels by name and reason, never a URL or secret', () => {
    const summary = summarizeConfig(loadConfig({ ...base, OPS_URL: unresolved }));
    expect(summary.alertChannels).toEqual([
      {
        name: 'ops',
        kind: 'webhook',
        status: 'disabled',
        reason: 'setting OPS_URL is an unresolved Key Vault reference',
      },
      { name: 'team', kind: 'teams', status: 'enabled' },
    ]);
    expect(JSON.stringify(summary)).not.toContain('example');
  });
});
