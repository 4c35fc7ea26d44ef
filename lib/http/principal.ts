import type { HttpRequest } from '@azure/functions';
import { ForbiddenError, UnauthorizedError } from '../core/errors.js';
import { appRoles, hasRole, type AppRole, type Principal } from '../core/principal.js';

const objectIdClaims = ['http://schemas.microsoft.com/identity/claims/objectidentifier', 'oid'];
/**
 * Where app roles are, whatever `role_typ` says: App Service Authentication sets `role_typ` to the long role URI,
 * while a v2.0 token's app roles arrive unmapped as `roles` (AzureAD/microsoft-identity-web issue #1983, PR #2166);
 * a v1.0 token's are mapped to the URI. test/fixtures/app-service-principals.ts has the three shapes, with sources.
 */
const roleClaims = ['roles', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'];
/** A display name: `name` (v1.0 and v2.0 user tokens), else `preferred_username` (v2.0); app-only tokens have none. */
const nameClaims = ['name', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', 'preferred_username'];

/**
 * Reads `x-ms-client-principal`: base64 JSON `{auth_typ, name_typ, role_typ, claims: [{typ, val}]}` that App Service
 * Authentication sets after validating the caller's token (and strips from incoming requests; Microsoft Learn,
 * "Work with user identities in Azure App Service authentication"). The local host plays that part: it drops the
 * header unless the sandbox explicitly trusts it.
 */
export function principalOf(request: HttpRequest): Principal | undefined {
  const header = request.headers.get('x-ms-client-principal');
  if (!header || header.length > 16_384) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof decoded !== 'object' || decoded === null) return undefined;
  const {
    claims,
    name_typ: nameType,
    role_typ: roleType,
  } = decoded as { claims?: unknown; name_typ?: unknown; role_typ?: unknown };
  if (!Array.isArray(claims)) return undefined;
  const values = (type: unknown): string[] =>
    claims.flatMap((claim) => {
      const { typ, val } = (claim ?? {}) as { typ?: unknown; val?: unknown };
      return typ === type && typeof val === 'string' ? [val] : [];
    });
  const named = (types: readonly unknown[]): string[] => [...new Set(types)].flatMap(values);
  const name = named([...(typeof nameType === 'string' ? [nameType] : []), ...nameClaims])[0];
  const id = objectIdClaims.flatMap(values)[0] ?? name;
  if (id === undefined) return undefined;
  const roles = new Set(
    named([...(typeof roleType === 'string' ? [roleType] : []), ...roleClaims]).filter((role): role is AppRole =>
      (appRoles as readonly string[]).includes(role),
    ),
  );
  return { id, name, roles };
}

/**
 * The caller, whatever its roles: for use cases that decide (and record) a refusal themselves, such as policy writes.
 * @throws UnauthorizedError without an identity.
 */
export function requireCaller(request: HttpRequest): Principal {
  const principal = principalOf(request);
  if (principal === undefined)
    throw new UnauthorizedError('No caller identity: sign in through App Service Authentication (Entra ID).', [
      { field: 'headers.x-ms-client-principal', reason: 'missing or invalid' },
    ]);
  return principal;
}

/**
 * The caller with at least `role`.
 * @throws UnauthorizedError without an identity; ForbiddenError naming the role that is missing.
 */
export function requirePrincipal(request: HttpRequest, role: AppRole): Principal {
  const principal = requireCaller(request);
  if (!hasRole(principal, role))
    throw new ForbiddenError(`The caller lacks the app role ${role}.`, [
      { field: 'roles', reason: `requires ${role}` },
    ]);
  return principal;
}
