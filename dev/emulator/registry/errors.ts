import type { EmulatorResponse } from '../contract.js';

/**
 * A data-plane error in ACR's wire shape `{"errors":[{code,message,detail}]}` (docs/sources.md § ACR error format;
 * distribution-spec error codes). Thrown by the store and route modules, turned into a response in one place
 * (`toResponse`).
 */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** `undefined` omits the key (as in ACR's OPERATION_UNKNOWN body); `null` sends `"detail":null`. */
    readonly detail?: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toResponse(): EmulatorResponse {
    const error: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.detail !== undefined) error.detail = this.detail;
    return { status: this.status, headers: this.headers, body: { errors: [error] } };
  }
}

export const errors = {
  nameUnknown: (repo: string) =>
    new RegistryError(404, 'NAME_UNKNOWN', 'repository name not known to registry', { name: repo }),
  manifestUnknown: (reference: string) =>
    new RegistryError(404, 'MANIFEST_UNKNOWN', 'manifest tagged by "' + reference + '" is not found', {
      Tag: reference,
    }),
  blobUnknown: (digest: string) => new RegistryError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', digest),
  uploadUnknown: () => new RegistryError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', null),
  digestInvalid: (detail: string) =>
    new RegistryError(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content', detail),
  manifestInvalid: (detail: string) => new RegistryError(400, 'MANIFEST_INVALID', 'manifest invalid', detail),
  manifestBlobUnknown: (digest: string) =>
    new RegistryError(400, 'MANIFEST_BLOB_UNKNOWN', 'blob unknown to registry', digest),
  nameInvalid: (name: string) => new RegistryError(400, 'NAME_INVALID', 'invalid repository name', name),
  tagInvalid: (tag: string) => new RegistryError(400, 'TAG_INVALID', 'manifest tag did not match URI', tag),
  rangeInvalid: (detail: string) => new RegistryError(416, 'BLOB_UPLOAD_INVALID', 'blob upload invalid', detail),
  unsupported: (detail: string) => new RegistryError(405, 'UNSUPPORTED', 'The operation is unsupported.', detail),
  denied: (message: string, detail?: unknown) => new RegistryError(403, 'DENIED', message, detail ?? null),
};

export const OPERATION_UNKNOWN = (): RegistryError =>
  // Exact transcript body: no `detail` key at all.
  new RegistryError(404, 'OPERATION_UNKNOWN', 'The specified operation does not exist');
