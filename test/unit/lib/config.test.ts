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
