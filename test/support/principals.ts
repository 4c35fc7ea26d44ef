import type { AppRole } from '../../lib/core/principal.js';

/**
 * `x-ms-client-principal` values as App Service Authentication sets them for a v2.0 user token (base64 JSON
 * `{auth_typ, name_typ, role_typ, claims}`, `role_typ` the long role URI and the roles typed `roles`; sources in
 * test/fixtures/app-service-principals.ts), for callers with fewer rights than the sandbox's admin. Object ids are
 * fixed so tests can name them in `owners`.
 */
export const nameClaim = 'name';
export const objectIdClaim = 'http://schemas.microsoft.com/identity/claims/objectidentifier';

export interface PrincipalSpec {
  readonly objectId?: string;
  readonly name?: string;
  readonly roles?: readonly string[];
}

export const principalIds = {
  reader: '00000000-0000-0000-0000-0000000000a1',
  writer: '00000000-0000-0000-0000-0000000000b1',
  admin: '00000000-0000-0000-0000-0000000000c1',
} as const;

/** Encodes a principal; omit `objectId` to leave only the name claim. */
export function clientPrincipal(spec: PrincipalSpec): string {
  const claims = [
    ...(spec.objectId === undefined ? [] : [{ typ: objectIdClaim, val: spec.objectId }]),
    ...(spec.name === undefined ? [] : [{ typ: nameClaim, val: spec.name }]),
    ...(spec.roles ?? []).map((role) => ({ typ: 'roles', val: role })),
  ];
  return Buffer.from(
    JSON.stringify({
      auth_typ: 'aad',
      name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
      role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
      claims,
    }),
  ).toString('base64');
}

function withRole(role: AppRole, objectId: string, name: string): string {
  return clientPrincipal({ objectId, name, roles: [role] });
}

/** Streaming.Read only. */
export function readerPrincipal(): string {
  return withRole('Streaming.Read', principalIds.reader, 'reader@example.test');
}

/** Streaming.Write only (Read is implied by the app, not by the token). */
export function writerPrincipal(
  objectId: string = principalIds.writer,
  name = `writer-${objectId.slice(-4)}@example.test`,
): string {
  return withRole('Streaming.Write', objectId, name);
}

/** Streaming.Admin only: the app derives Write and Read from it. */
export function adminPrincipal(): string {
  return withRole('Streaming.Admin', principalIds.admin, 'admin@example.test');
}
