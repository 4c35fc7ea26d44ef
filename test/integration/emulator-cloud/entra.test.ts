import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientSecretCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acrExchangeVerifier,
  createEntra,
  startDiscoveryTunnel,
  type DiscoveryTunnel,
  type Entra,
} from '../../../dev/emulator/entra/index.js';
import { startTestingServer, type TestingServer } from '../../../dev/emulator/entra/testing-server.js';
import { createTestClock } from './clock.js';
import { createTestPki, type TestPki } from './tls.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = {
  clientId: '11111111-2222-3333-4444-555555555555',
  clientSecret: 's3cr3t~value',
  objectId: 'aaaaaaaa-0000-0000-0000-000000000001',
};

describe('emulated Entra ID', () => {
  const clock = createTestClock();
  let pki: TestPki;
  let entra: Entra;
  let server: TestingServer;

  beforeAll(async () => {
    pki = createTestPki();
    entra = createEntra({ clock, tenantId: TENANT, clients: [CLIENT] });
    server = await startTestingServer({ handlers: [entra.handler], tls: { cert: pki.certPem, key: pki.keyPem } });
  });
  afterAll(async () => {
    await server.close();
  });

  const credential = (secret: string): ClientSecretCredential =>
    new ClientSecretCredential(TENANT, CLIENT.clientId, secret, {
      authorityHost: server.url,
      // MSAL would otherwise ask the real login.microsoftonline.com which hosts alias this authority.
      disableInstanceDiscovery: true,
      tlsOptions: { ca: pki.caPem },
    });

  it('issues a verifiable ARM token to ClientSecretCredential', async () => {
    const token = await credential(CLIENT.clientSecret).getToken('https://management.azure.com/.default');

    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now());
    const verified = entra.verifyAccessToken(token.token, 'https://management.azure.com/');
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(verified.claims).toMatchObject({
      aud: 'https://management.azure.com',
      tid: TENANT,
      appid: CLIENT.clientId,
      oid: CLIENT.objectId,
      ver: '1.0',
    });
    expect(verified.claims.exp - verified.claims.iat).toBe(3599);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /${TENANT}/v2.0/.well-known/openid-configuration`,
      `POST /${TENANT}/oauth2/v2.0/token`,
    ]);
  });

  it('rejects a wrong secret with an AADSTS7000215 error', async () => {
    await expect(credential('wrong').getToken('https://management.azure.com/.default')).rejects.toThrow(
      /AADSTS7000215/,
    );
    expect(server.requests.at(-1)).toMatchObject({ path: `/${TENANT}/oauth2/v2.0/token`, status: 401 });
  });

  it('verifyAccessToken enforces audience, expiry on the emulator clock, and its own key', () => {
    const token = entra.issueAccessToken(CLIENT.clientId, 'https://containerregistry.azure.net');
    expect(entra.verifyAccessToken(token, 'https://management.azure.com').ok).toBe(false);
    expect(entra.verifyAccessToken(token, ['https://containerregistry.azure.net/']).ok).toBe(true);
    expect(acrExchangeVerifier(entra)(token)).toMatchObject({ oid: CLIENT.objectId, tid: TENANT });
    expect(
      acrExchangeVerifier(entra)(entra.issueAccessToken(CLIENT.clientId, 'https://vault.azure.net')),
    ).toBeUndefined();
    const other = createEntra({ clock, tenantId: TENANT, clients: [CLIENT] });
    expect(other.verifyAccessToken(token)).toMatchObject({ ok: false, reason: 'signature' });
    clock.advance((3599 + 301) * 1000);
    expect(entra.verifyAccessToken(token)).toMatchObject({ ok: false, reason: 'expired' });
  });

  describe('DefaultAzureCredential configured only through environment variables (forked child)', () => {
    let tunnel: DiscoveryTunnel;
    let directory: string;
    beforeAll(async () => {
      tunnel = await startDiscoveryTunnel({ target: { host: '127.0.0.1', port: server.port } });
      directory = mkdtempSync(join(tmpdir(), 'entra-ca-'));
      writeFileSync(join(directory, 'ca.pem'), pki.caPem);
    });
    afterAll(async () => {
      await tunnel.close();
      rmSync(directory, { recursive: true, force: true });
    });

    it('gets a token with no code changes: NODE_EXTRA_CA_CERTS + HTTPS_PROXY tunnel for instance discovery', async () => {
      const child = fork(fileURLToPath(new URL('./default-credential-child.ts', import.meta.url)), [], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        env: {
          PATH: process.env.PATH,
          NODE_EXTRA_CA_CERTS: join(directory, 'ca.pem'),
          HTTPS_PROXY: tunnel.url,
          NO_PROXY: '127.0.0.1,localhost',
          AZURE_AUTHORITY_HOST: server.url,
          AZURE_TENANT_ID: TENANT,
          AZURE_CLIENT_ID: CLIENT.clientId,
          AZURE_CLIENT_SECRET: CLIENT.clientSecret,
        },
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const message = await new Promise<unknown>((resolve, reject) => {
        child.once('message', resolve);
        child.once('exit', (code) => reject(new Error(`child exited ${String(code)}: ${stderr}`)));
      });
      const { token, error } = message as { token?: string; error?: string };
      expect(error).toBeUndefined();
      expect(entra.verifyAccessToken(token ?? '', 'https://management.azure.com').ok).toBe(true);
      expect(server.requests.some((r) => r.path === '/common/discovery/instance')).toBe(true);
    });
  });
});
