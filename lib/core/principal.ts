/**
 * The caller of an HTTP route and the app roles it may hold. Who the caller is comes from the platform (App
 * Service Authentication); reading that header is the HTTP adapter's job (lib/http/principal.ts).
 */
export const appRoles = ['Streaming.Read', 'Streaming.Write', 'Streaming.Admin'] as const;
export type AppRole = (typeof appRoles)[number];

/** The caller, as App Service Authentication (Entra ID) vouches for it. */
export interface Principal {
  /** Entra object id, or the name when no object id is given. */
  readonly id: string;
  readonly name: string | undefined;
  readonly roles: ReadonlySet<AppRole>;
}

/** Admin implies Write implies Read. */
export function hasRole(principal: Principal, role: AppRole): boolean {
  const rank = (r: AppRole): number => appRoles.indexOf(r);
  return [...principal.roles].some((held) => rank(held) >= rank(role));
}

export function isAdmin(principal: Principal): boolean {
  return principal.roles.has('Streaming.Admin');
}
