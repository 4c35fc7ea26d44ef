import { describe, expect, it } from 'vitest';
import { apiBase, resolveConnection, tokenScope } from '../../../cli/connection.js';
import { UsageError } from '../../../cli/errors.js';

const nowhere = '/nonexistent-acr-streaming-cli-test';

describe('the Azure target', () => {
  it('sends the function key and a bearer token for api://<client id>/.default', async () => {
    const scopes: string[] = [];
    const connection = resolveConnection(
      {},
      {
        ACR_STREAMING_URL: 'https://app.azurewebsites.net/api/',
        ACR_STREAMING_FUNCTION_KEY: 'the-key',
        ACR_STREAMING_AUDIENCE: '11111111-2222-3333-4444-555555555555',
      },
      nowhere,
      (scope) => {
        scopes.push(scope);
        return Promise.resolve('the-token');
      },
    );

    const first = await connection.headers();
    await connection.headers();

    expect(connection).toMatchObject({ baseUrl: 'https://app.azurewebsites.net', kind: 'azure' });
    expect(first).toEqual({ 'x-functions-key': 'the-key', authorization: 'Bearer the-token' });
    expect(scopes).toEqual(['api://11111111-2222-3333-4444-555555555555/.default']);
  });

  it('flags win over the environment', () => {
    const connection = resolveConnection(
      { url: 'https://flag.example', key: 'k', audience: 'a' },
      { ACR_STREAMING_SANDBOX_FILE: 'sandbox.json', ACR_STREAMING_URL: 'https://env.example' },
      nowhere,
    );
    expect(connection.baseUrl).toBe('https://flag.example');
  });

  it.each([
    [{ ACR_STREAMING_URL: 'https://a.example', ACR_STREAMING_AUDIENCE: 'x' }, /ACR_STREAMING_FUNCTION_KEY/],
    [{ ACR_STREAMING_URL: 'https://a.example', ACR_STREAMING_FUNCTION_KEY: 'k' }, /ACR_STREAMING_AUDIENCE/],
    [{ ACR_STREAMING_URL: 'ftp://a.example', ACR_STREAMING_FUNCTION_KEY: 'k', ACR_STREAMING_AUDIENCE: 'x' }, /http/],
    [{}, /Nothing says where the API is/],
  ])('says what is missing as a usage error: %j', (env, message) => {
    expect(() => resolveConnection({}, env, nowhere)).toThrow(UsageError);
    expect(() => resolveConnection({}, env, nowhere)).toThrow(message);
  });
});

it('scopes and URLs are normalised the way people paste them', () => {
  expect(tokenScope('abc')).toBe('api://abc/.default');
  expect(tokenScope('api://abc')).toBe('api://abc/.default');
  expect(tokenScope('api://abc/.default')).toBe('api://abc/.default');
  expect(apiBase('http://127.0.0.1:7071')).toBe('http://127.0.0.1:7071');
  expect(apiBase('https://x.example/base/api')).toBe('https://x.example/base');
});
