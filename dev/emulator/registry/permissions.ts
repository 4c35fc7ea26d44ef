/**
 * Who may do what on one registry's data plane: the identity's role assignments on the registry, read the way ACR
 * reads them in its two role-assignment modes. Sources (docs/sources.md § ACR roles and repository permissions):
 * Microsoft Learn "Azure Container Registry roles directory reference"
 * (learn.microsoft.com/azure/container-registry/container-registry-rbac-built-in-roles-directory-reference,
 * MicrosoftDocs/azure-management-docs @064a6550) and Azure/acr `docs/preview/abac-repo-permissions/README.md`.
 *
 * - `LegacyRegistryPermissions` ("RBAC Registry Permissions"): AcrPull and Reader pull and read metadata, AcrPush
 *   also pushes, Owner and Contributor do everything, AcrDelete deletes; all of them but AcrDelete list the catalog
 *   ("View and list repositories"). The repository-scoped roles have no effect.
 * - `AbacRepositoryPermissions`: only the "Container Registry Repository Reader/Writer/Contributor" roles touch the
 *   data plane, optionally limited to repositories by an ABAC condition; none of them lists the catalog, which needs
 *   "Container Registry Repository Catalog Lister" (never scoped). Owner, Contributor, Reader, AcrPull, AcrPush and
 *   AcrDelete have no data-plane permission at all.
 *
 * Friendly by default: an identity nobody assigned roles to (through the control API) may do everything, as the
 * sandbox's identity needs. Admin-user and anonymous callers are not role-based and are not read here.
 */

export const roleAssignmentModes = ['LegacyRegistryPermissions', 'AbacRepositoryPermissions'] as const;
export type RoleAssignmentMode = (typeof roleAssignmentModes)[number];

export const registryRoles = [
  'Owner',
  'Contributor',
  'Reader',
  'AcrPush',
  'AcrPull',
  'AcrDelete',
  'Container Registry Repository Reader',
  'Container Registry Repository Writer',
  'Container Registry Repository Contributor',
  'Container Registry Repository Catalog Lister',
] as const;
export type RegistryRole = (typeof registryRoles)[number];

export interface RoleAssignment {
  readonly role: RegistryRole;
  /**
   * ABAC condition (ABAC mode only, repository roles only): the repositories it applies to, each an exact name or a
   * prefix ending in `/` (the documented way to grant a namespace). Absent: the whole registry.
   */
  readonly repositories?: readonly string[];
}

/** Every repository action of the token scope grammar (docs/sources.md § ACR token flow). */
export const ALL_REPOSITORY_ACTIONS: readonly string[] = [
  'pull',
  'push',
  'delete',
  'metadata_read',
  'metadata_write',
  'deleted_read',
  'deleted_restore',
];

const READ = ['pull', 'metadata_read'];
const WRITE = [...READ, 'push', 'metadata_write'];
const CONTRIBUTE = [...WRITE, 'delete'];

interface RoleGrant {
  readonly actions: readonly string[];
  readonly catalog: boolean;
  /** Whether an ABAC repository condition applies to it. */
  readonly scopable: boolean;
}

const none: RoleGrant = { actions: [], catalog: false, scopable: false };

const grants: Record<RoleAssignmentMode, Record<RegistryRole, RoleGrant>> = {
  LegacyRegistryPermissions: {
    Owner: { actions: ALL_REPOSITORY_ACTIONS, catalog: true, scopable: false },
    Contributor: { actions: ALL_REPOSITORY_ACTIONS, catalog: true, scopable: false },
    Reader: { actions: READ, catalog: true, scopable: false },
    AcrPush: { actions: WRITE, catalog: true, scopable: false },
    AcrPull: { actions: READ, catalog: true, scopable: false },
    AcrDelete: { actions: ['delete'], catalog: false, scopable: false },
    'Container Registry Repository Reader': none,
    'Container Registry Repository Writer': none,
    'Container Registry Repository Contributor': none,
    'Container Registry Repository Catalog Lister': none,
  },
  AbacRepositoryPermissions: {
    Owner: none,
    Contributor: none,
    Reader: none,
    AcrPush: none,
    AcrPull: none,
    AcrDelete: none,
    'Container Registry Repository Reader': { actions: READ, catalog: false, scopable: true },
    'Container Registry Repository Writer': { actions: WRITE, catalog: false, scopable: true },
    'Container Registry Repository Contributor': { actions: CONTRIBUTE, catalog: false, scopable: true },
    'Container Registry Repository Catalog Lister': { actions: [], catalog: true, scopable: false },
  },
};

function applies(assignment: RoleAssignment, grant: RoleGrant, repository: string): boolean {
  if (!grant.scopable || assignment.repositories === undefined) return true;
  return assignment.repositories.some((r) => (r.endsWith('/') ? repository.startsWith(r) : repository === r));
}

/** A registry's role-assignment mode and the role assignments tests gave identities (by Entra object id). */
export class RegistryPermissions {
  mode: RoleAssignmentMode = 'LegacyRegistryPermissions';
  /**
   * The actions the artifact-streaming endpoints require (docs/assumptions.md A7): reads (`GET _streaming`,
   * `_streaming/{digest}`, `_operations/{id}`) and writes (the `POST`s and the cancel). Undocumented; the defaults are
   * the scopes the CLI requests for them.
   */
  streamingActions: { read: readonly string[]; write: readonly string[] } = {
    read: ['pull'],
    write: ['pull', 'push'],
  };
  /**
   * The repository actions an identity's roles must allow to turn a repository's `convertPushedImages` off, besides
   * the token's `pull,push` (docs/assumptions.md A12). The roles reference lets AcrPush and Repository Writer "set
   * repository policies for automatic artifact streaming conversion" and reserves *disabling* for Repository
   * Contributor only "for specific images" (AcrDelete: "by deleting an image's streaming OCI referrer"), so by default
   * nothing more is required. `['delete']` is the other reading: only Contributor (or Owner/Contributor in legacy
   * mode) may switch it off.
   */
  switchOffActions: readonly string[] = [];
  readonly #assignments = new Map<string, readonly RoleAssignment[]>();

  /**
   * @param inherited the identity's assignments made above the registry (its resource group or subscription), which
   * the registry inherits: "Lower levels inherit role permissions from higher levels" (Microsoft Learn "Understand
   * scope for Azure RBAC", learn.microsoft.com/azure/role-based-access-control/scope-overview). The emulator's ARM
   * keeps them (arm/cloud.ts), so ARM and the data plane agree.
   */
  constructor(private readonly inherited: (principalId: string) => readonly RoleAssignment[] = () => []) {}

  /** Assigned on the registry plus inherited; undefined when neither decides (the friendly default). */
  #effective(principalId: string): readonly RoleAssignment[] | undefined {
    const own = this.#assignments.get(principalId);
    const above = this.inherited(principalId);
    if (own === undefined && above.length === 0) return undefined;
    return [...(own ?? []), ...above];
  }

  /** Replaces an identity's assignments; `undefined` makes it unrestricted again (the friendly default). */
  assign(principalId: string, assignments: readonly RoleAssignment[] | undefined): void {
    if (assignments === undefined) this.#assignments.delete(principalId);
    else this.#assignments.set(principalId, assignments);
  }

  /** The assignments made on the registry itself (not the inherited ones). */
  assignments(principalId: string): readonly RoleAssignment[] | undefined {
    return this.#assignments.get(principalId);
  }

  /** Every identity with assignments made on the registry itself, by object id. */
  assigned(): ReadonlyMap<string, readonly RoleAssignment[]> {
    return this.#assignments;
  }

  /** Whether role assignments (on the registry or inherited) decide for this identity (else it may do everything). */
  restricts(principalId: string): boolean {
    return this.#effective(principalId) !== undefined;
  }

  /** The repository actions the identity's roles allow on one repository. */
  repositoryActions(principalId: string, repository: string): ReadonlySet<string> {
    const assigned = this.#effective(principalId);
    if (assigned === undefined) return new Set(ALL_REPOSITORY_ACTIONS);
    const allowed = new Set<string>();
    for (const assignment of assigned) {
      const grant = grants[this.mode][assignment.role];
      if (applies(assignment, grant, repository)) for (const action of grant.actions) allowed.add(action);
    }
    return allowed;
  }

  /** Whether the identity may list the catalog (`registry:catalog:*`). */
  mayListCatalog(principalId: string): boolean {
    const assigned = this.#effective(principalId);
    if (assigned === undefined) return true;
    return assigned.some((assignment) => grants[this.mode][assignment.role].catalog);
  }

  describe(): {
    mode: RoleAssignmentMode;
    streamingActions: { read: readonly string[]; write: readonly string[] };
    switchOffActions: readonly string[];
    assignments: Record<string, readonly RoleAssignment[]>;
  } {
    return {
      mode: this.mode,
      streamingActions: this.streamingActions,
      switchOffActions: this.switchOffActions,
      assignments: Object.fromEntries(this.#assignments),
    };
  }
}
