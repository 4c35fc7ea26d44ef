import { readFileSync } from 'node:fs';
import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';

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
