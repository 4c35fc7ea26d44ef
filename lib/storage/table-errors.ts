import { isRestError } from '@azure/core-rest-pipeline';
import type { TableClient, TableEntity } from '@azure/data-tables';

/**
 * Storage SDK errors are told apart by HTTP status, never by message: the Tables SDK leaves `code` undefined for
 * 409/412 against Azurite (the service code sits in `details.odataError.code`), but the status is always right.
 */
export function isStatus(error: unknown, status: number): boolean {
  return isRestError(error) && error.statusCode === status;
}

/**
 * Creates the entity (no ETag) or replaces it when its ETag still matches; false when another writer got there
 * first (409 on create, 412 on replace), so the caller re-reads and decides again.
 */
export async function writeConditionally(
  table: TableClient,
  entity: TableEntity,
  etag: string | undefined,
): Promise<boolean> {
  try {
    if (etag === undefined) await table.createEntity(entity);
    else await table.updateEntity(entity, 'Replace', { etag });
    return true;
  } catch (error) {
    if (isStatus(error, 409) || isStatus(error, 412)) return false;
    throw error;
  }
}
