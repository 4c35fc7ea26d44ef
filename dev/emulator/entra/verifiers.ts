/** Adapters from Entra's verifyAccessToken to what other emulator modules consume. */
import type { Entra } from './entra.js';

/**
 * Audiences ACR accepts at `/oauth2/exchange`: the ACR audience (what @azure/container-registry requests) and the ARM
 * ones (what az CLI sends unless azureADAuthenticationAsArmPolicy is disabled) — docs/sources.md § ACR token flow.
 */
export const ACR_EXCHANGE_AUDIENCES: readonly string[] = [
  'https://containerregistry.azure.net',
  'https://management.azure.com',
  'https://management.core.windows.net',
];

/**
 * Shaped like the registry module's AccessTokenVerifier (`(token) => {oid, tid?, …} | undefined`): returns the
 * token's claims when valid for one of `audiences`, else undefined.
 */
export function acrExchangeVerifier(
  entra: Pick<Entra, 'verifyAccessToken'>,
  audiences: readonly string[] = ACR_EXCHANGE_AUDIENCES,
): (token: string) => ({ readonly oid: string; readonly tid: string } & Record<string, unknown>) | undefined {
  return (token) => {
    const result = entra.verifyAccessToken(token, audiences);
    return result.ok ? { ...result.claims } : undefined;
  };
}
