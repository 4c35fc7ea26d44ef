/** ARM error responses: `{"error":{"code","message"}}` with the codes and wording Azure Resource Manager uses. */
import type { EmulatorResponse } from '../contract.js';

export function armError(
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): EmulatorResponse {
  return { status, ...(headers ? { headers } : {}), body: { error: { code, message } } };
}

const WWW_AUTHENTICATE = (tenantId: string, description: string): Record<string, string> => ({
  'www-authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/${tenantId}", error="invalid_token", error_description="${description}"`,
});

export const armErrors = {
  missingAuthorization: (tenantId: string): EmulatorResponse =>
    armError(
      401,
      'AuthenticationFailed',
      "Authentication failed. The 'Authorization' header is missing.",
      WWW_AUTHENTICATE(tenantId, "The authentication failed because of missing 'Authorization' header."),
    ),
  invalidToken: (tenantId: string): EmulatorResponse =>
    armError(
      401,
      'InvalidAuthenticationToken',
      'The access token is invalid.',
      WWW_AUTHENTICATE(tenantId, 'The access token is invalid.'),
    ),
  expiredToken: (tenantId: string, expiry: Date, now: Date): EmulatorResponse =>
    armError(
      401,
      'ExpiredAuthenticationToken',
      `The access token expiry UTC time '${expiry.toUTCString()}' is earlier than current UTC time '${now.toUTCString()}'.`,
      WWW_AUTHENTICATE(tenantId, 'The access token has expired.'),
    ),
  wrongAudience: (tenantId: string, audience: string, allowed: readonly string[]): EmulatorResponse =>
    armError(
      401,
      'InvalidAuthenticationTokenAudience',
      `The access token has been obtained for wrong audience or resource '${audience}'. It should exactly match with one of the allowed audiences ${allowed.map((a) => `'${a}'`).join(',')}.`,
      WWW_AUTHENTICATE(tenantId, 'The access token has been obtained for wrong audience or resource.'),
    ),
  missingApiVersion: (): EmulatorResponse =>
    armError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    ),
  subscriptionNotFound: (subscriptionId: string): EmulatorResponse =>
    armError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`),
  resourceGroupNotFound: (resourceGroup: string): EmulatorResponse =>
    armError(404, 'ResourceGroupNotFound', `Resource group '${resourceGroup}' could not be found.`),
  resourceNotFound: (type: string, resourceGroup: string): EmulatorResponse =>
    armError(
      404,
      'ResourceNotFound',
      `The Resource '${type}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    ),
  invalidFilter: (filter: string): EmulatorResponse =>
    armError(
      400,
      'InvalidFilterParameter',
      `The $filter '${filter}' is not supported. Use "<parent.id|mode|connectionState> eq '<value>'" joined by 'and'.`,
    ),
  unsupportedMethod: (method: string, path: string): EmulatorResponse =>
    armError(405, 'UnsupportedOperation', `The emulator does not implement ${method} ${path}.`),
};
