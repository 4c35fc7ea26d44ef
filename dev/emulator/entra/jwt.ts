/**
 * RS256 JWTs with node:crypto only. The emulator holds one signing key in memory per Entra instance; tokens do
 * not survive a restart, which is what we want (a restarted emulator must not accept tokens it never issued).
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function createSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // Entra's kid/x5t is a base64url SHA-1 thumbprint; any stable per-key string works for clients.
  const kid = createHash('sha1').update(spki).digest('base64url');
  return { kid, privateKey, publicKey };
}

/** The key as a JWKS entry (what `/discovery/v2.0/keys` serves). */
export function toJwk(key: SigningKey): Record<string, string> {
  const jwk = createPublicKey(key.publicKey).export({ format: 'jwk' });
  return { kty: 'RSA', use: 'sig', kid: key.kid, x5t: key.kid, n: String(jwk.n), e: String(jwk.e) };
}

export function signJwt(key: SigningKey, claims: object): string {
  const header = { typ: 'JWT', alg: 'RS256', x5t: key.kid, kid: key.kid };
  const encodedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
  const encodedClaims = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signingInput = `${encodedHeader}.${encodedClaims}`;
  const signature = sign('sha256', Buffer.from(signingInput), key.privateKey).toString('base64url');
  return `${signingInput}.${signature}`;
}

/** Returns the claims when the signature is valid for `key`, else undefined (expiry is the caller's business). */
export function verifyJwtSignature(key: SigningKey, token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [encodedHeader, encodedClaims, signature] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(encodedHeader, 'base64url').toString('utf8')) as { alg?: unknown };
    if (header.alg !== 'RS256') return undefined;
    const ok = verify(
      'sha256',
      Buffer.from(`${encodedHeader}.${encodedClaims}`),
      key.publicKey,
      Buffer.from(signature, 'base64url'),
    );
    if (!ok) return undefined;
    const claims: unknown = JSON.parse(Buffer.from(encodedClaims, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
