/**
 * A failed ACR call, mapped by status and ACR error code (never by message text). Carries what support needs —
 * the code and the correlation id — and never a token.
 */
export class AcrError extends Error {
  override readonly name = 'AcrError';
  constructor(
    message: string,
    readonly details: {
      readonly status: number;
      /**
       * ACR's error code, e.g. `OPERATION_UNKNOWN`, `UNAUTHORIZED`, `DENIED`, `MANIFEST_UNKNOWN`; `NETWORK` when no
       * answer came.
       */
      readonly code: string;
      readonly correlationId: string | undefined;
      /** `errors[0].detail.reason` when ACR gives one (e.g. why a start was denied). */
      readonly reason?: string;
      readonly method: string;
      readonly path: string;
    },
  ) {
    super(message);
  }

  get status(): number {
    return this.details.status;
  }
  get code(): string {
    return this.details.code;
  }

  /** Worth retrying later: throttling, server faults, no answer at all. */
  get transient(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

export function isAcrError(error: unknown, code?: string): error is AcrError {
  return error instanceof AcrError && (code === undefined || error.code === code);
}
