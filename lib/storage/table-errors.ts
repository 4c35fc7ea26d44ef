import { isRestError } from '@azure/core-rest-pipeline';

/**
 * Storage SDK errors are told apart by HTTP status, never by message: the Tables SDK leaves `code` undefined for
 * 409/412 against Azurite (the service code sits in `details.odataError.code`), but the status is always right.
 */
export function isStatus(error: unknown, status: number): boolean {
  return isRestError(error) && error.statusCode === status;
}
