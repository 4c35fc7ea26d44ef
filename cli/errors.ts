/**
 * Exit codes scripts can branch on (README § Command-line client). Stable: changing one breaks callers' scripts.
 */
export const ExitCode = {
  ok: 0,
  /** Bad arguments, or nothing says where the API is or how to sign in. */
  usage: 1,
  /** The API refused the request (4xx): the problem's detail and field errors are printed. */
  refused: 2,
  /** The API failed (5xx) or could not be reached. */
  unavailable: 3,
  /** `--wait` saw the conversion end in a state other than Succeeded. */
  unsuccessful: 4,
  /** `--wait` gave up (`--timeout`) before the conversion reached a final state. */
  waitTimedOut: 5,
  /** `doctor`: the image pulls but will not stream (a check failed; the checklist says which and the fix). */
  willNotStream: 6,
  /** `doctor`: the image will not even pull (missing, no pull role, or the network refuses the cluster). */
  willNotPull: 7,
  /** `doctor`: nothing failed, but a check that decides it could not be made (ARM unreadable, say). */
  diagnosisUnknown: 8,
  /** A bug in the CLI (EX_SOFTWARE): please report it with the output of --verbose. */
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** RFC 9457 problem details as the API sends them (lib/http/openapi.ts `Problem`). */
export interface Problem {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly errors?: ReadonlyArray<{ readonly field: string; readonly reason: string }>;
}

/** An error the CLI reports in words and maps to an exit code; anything else is a bug and shows its stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'UsageError';
  }
}

/** A 4xx or 5xx answer; `problem` is present when the body was problem+json. */
export class ApiError extends CliError {
  /** Lines printed after the problem: what the CLI found out about it (e.g. what changed, on a 412). */
  readonly notes: string[] = [];
  /** Added to the `--json` error object. */
  extra: Record<string, unknown> = {};

  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    readonly method: string,
    readonly path: string,
  ) {
    super(
      problem?.detail ?? `${method} ${path} answered ${status}`,
      status >= 500 ? ExitCode.unavailable : ExitCode.refused,
    );
    this.name = 'ApiError';
  }
}
