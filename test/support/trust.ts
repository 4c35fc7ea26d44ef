import { readFileSync } from 'node:fs';
import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import { RegistryClient } from '../../lib/registry/client.js';

/**
 * An Azure SDK HTTP client that trusts the emulator's CA, for in-process tests (the product itself trusts it
 * through NODE_EXTRA_CA_CERTS, which only works when set before a process starts).
 */
export function trustingHttpClient(caFile: string): HttpClient {
  // One settings object for every request: the SDK caches its keep-alive agent by the object's identity, so a
  // fresh object per request would open a new TLS connection each time.
  const tlsSettings = { ca: readFileSync(caFile, 'utf8') };
  const inner = createDefaultHttpClient();
  return {
    sendRequest: (request) => {
      request.tlsSettings = tlsSettings;
      return inner.sendRequest(request);
    },
  };
}

/**
 * The app's RegistryClient against an emulator registry, signed in as an Entra identity whose access token is
 * `token`: the emulator reads the token as the caller's object id, so a test picks who calls by choosing it.
 */
export function emulatorRegistryClient(
  registry: { readonly loginServer: string; readonly caFile: string },
  token = 'app',
): RegistryClient {
  return new RegistryClient({
    loginServer: registry.loginServer,
    credentials: {
      type: 'identity',
      audience: 'https://containerregistry.azure.net',
      credential: { getToken: () => Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3.6e6 }) },
    },
    httpClient: trustingHttpClient(registry.caFile),
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
  });
}
