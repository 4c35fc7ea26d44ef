import { forRegistry } from '../core/registries.js';
/**
 * What a conversion failure means and what to do about it. ACR reports a failed operation with a status and a
 * free-text `details`; where it names an error code we know (docs/sources.md § Artifact streaming limitations and
 * troubleshooting) we match the code, never the prose — except ACR's one fixed sentence "Conversion operation failed
 * due to an unknown error", which carries none. Anything else is kept in ACR's own words, never reworded.
 */
export interface FailureClass {
  readonly code: string;
  /** Whether a new attempt can succeed without anyone changing anything. */
  readonly retryable: boolean;
  readonly remediation: string;
  /** ACR's own words, when the failure is not one this app recognises (shown verbatim, never reworded). */
  readonly reported?: string;
}

const catalogue: Record<string, Omit<FailureClass, 'code'>> = {
  UNSUPPORTED_PLATFORM: {
    retryable: false,
    remediation:
      'Artifact streaming converts linux/amd64 images only; Windows and ARM64 images are not supported. Push a linux/amd64 build, or a multi-arch index that includes linux/amd64 (docker buildx build --platform linux/amd64,linux/arm64).',
  },
  NO_SUPPORTED_PLATFORM_FOUND: {
    retryable: false,
    remediation:
      'The image index has no linux/amd64 image, the only platform artifact streaming supports. Add a linux/amd64 variant to the index and push it again.',
  },
  UNSUPPORTED_MEDIATYPE: {
    retryable: false,
    remediation:
      'Only container images (Docker v2 or OCI image manifests and indexes) can be made streamable; Helm charts and other OCI artifacts cannot. Exclude this repository or tag in the policy.',
  },
  UNSUPPORTED_ARTIFACT_TYPE: {
    retryable: false,
    remediation:
      'The manifest is itself a streaming artifact or another referrer; nothing to convert. If this keeps happening, report it: referrer pushes should be ignored.',
  },
  SKU_NOT_SUPPORTED: {
    retryable: false,
    remediation: 'Artifact streaming needs a Premium registry: az acr update --name <registry> --sku Premium.',
  },
  CMK_NOT_SUPPORTED: {
    retryable: false,
    remediation:
      'Registries encrypted with customer-managed keys cannot use artifact streaming. Use a registry without CMK encryption for images that must stream.',
  },
  IMAGE_TOO_LARGE: {
    retryable: false,
    remediation:
      'Artifact streaming works for images up to 30 GB. Slim the image (multi-stage builds, fewer layers of large data) or exclude its tag.',
  },
  DENIED: {
    retryable: false,
    remediation: deniedRemediation(undefined),
  },
  UNAUTHORIZED: {
    retryable: false,
    remediation:
      "ACR refused the app's credentials. Check the managed identity (AZURE_CLIENT_ID) or the registry's password setting, and its role assignments.",
  },
  UNKNOWN_ERROR: {
    retryable: true,
    remediation:
      'ACR reported "Conversion operation failed due to an unknown error". It is retried automatically; if it keeps failing, open a support request quoting the operation id — Azure support can search their logs by it.',
  },
  NOT_REPLICATED: {
    retryable: true,
    remediation:
      'The image was not found where the conversion ran, usually because geo-replication had not finished. It is retried automatically.',
  },
  THROTTLED: {
    retryable: true,
    remediation:
      'ACR throttled the request (HTTP 429). It is retried after the time ACR asked for; if it persists, spread pushes or backfills out over time.',
  },
  OPERATION_UNKNOWN: {
    retryable: true,
    remediation: 'ACR no longer knows the conversion operation (operations expire); the image is converted again.',
  },
  REFERRER_MISSING: {
    retryable: true,
    remediation:
      'ACR reported the conversion as succeeded but no streaming artifact is attached to the image. It is converted again; a referrer deleted by a copy or cleanup tool has the same effect.',
  },
  CANCELED: {
    retryable: false,
    remediation:
      'The conversion was canceled (by this app at its deadline, or by someone with az acr artifact-streaming operation cancel). Start it again with POST /api/registries/{registry}/conversions.',
  },
  INVALID_RESPONSE: {
    retryable: false,
    remediation:
      'ACR answered with something this app cannot read (not JSON, or not the shape ACR documents). If ACR changed its API, update the app; the answer is in the logs with its correlation id.',
  },
  TIMED_OUT: {
    retryable: false,
    remediation:
      'The conversion did not finish before the policy deadline and was canceled. Large images take longer: raise deadlineMinutes in the policy, then start it again.',
  },
};

/**
 * Which role lets the app's identity start conversions depends on the registry's role-assignment mode
 * (docs/sources.md § ACR roles and repository permissions): AcrPush in "RBAC Registry Permissions" mode, where the
 * repository roles have no effect; "Container Registry Repository Writer" in "RBAC Registry + ABAC Repository
 * Permissions" mode, where AcrPush has none. Unknown mode (ARM unreadable): both, saying which applies where.
 */
export function deniedRemediation(permissionsMode: string | undefined): string {
  const refused = "The app's identity may not push to this repository (ACR answered 403 DENIED).";
  if (permissionsMode === 'LegacyRegistryPermissions')
    return `${refused} The registry uses "RBAC Registry Permissions": grant the identity AcrPush on the registry (az role assignment create --role AcrPush --assignee <app identity> --scope <registry id>), or redeploy with permissionsMode "rbac".`;
  if (permissionsMode === 'AbacRepositoryPermissions')
    return `${refused} The registry uses "RBAC Registry + ABAC Repository Permissions", where AcrPush grants nothing: grant the identity "Container Registry Repository Writer" on the registry, optionally limited to the governed repositories by an ABAC condition, or redeploy with permissionsMode "abac".`;
  return `${refused} Grant it AcrPush on the registry, or on ABAC-mode registries (role assignment mode "RBAC Registry + ABAC Repository Permissions") the repository-scoped "Container Registry Repository Writer" role.`;
}

/** Upper-case tokens; only those in the catalogue (or known not-found codes) count as codes. */
const codePattern = /\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)\b/g;
const unknownErrorSentence = /failed due to an unknown error/i;
const notFoundCodes = new Set(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'BLOB_UNKNOWN', 'NOT_FOUND', 'RESOURCE_NOT_FOUND']);

/** Classifies a failed or canceled operation from its `details` text (and status). */
export function classifyOperationFailure(status: 'Failed' | 'Canceled', details: string | undefined): FailureClass {
  if (status === 'Canceled') return failureClass('CANCELED');
  const text = details ?? '';
  for (const match of text.matchAll(codePattern)) {
    const code = match[1]!;
    if (code in catalogue) return failureClass(code);
    if (notFoundCodes.has(code)) return failureClass('NOT_REPLICATED');
  }
  if (unknownErrorSentence.test(text)) return failureClass('UNKNOWN_ERROR');
  if (/not found/i.test(text)) return failureClass('NOT_REPLICATED');
  return unrecognised(text);
}

/**
 * A failure in words this app does not know: the first code-like token (`UNSUPPORTED_SKU`) becomes the code, or
 * `UNCLASSIFIED`; ACR's text is kept verbatim; it is retried, as nothing says it is final.
 */
function unrecognised(text: string): FailureClass {
  const token = [...text.matchAll(codePattern)].map((match) => match[1]!).find((candidate) => candidate.includes('_'));
  const reported = text.trim().slice(0, 500);
  return {
    code: token ?? 'UNCLASSIFIED',
    retryable: true,
    reported,
    remediation: `ACR reported ${reported === '' ? 'a failure without details' : `"${reported}"`}, which this app does not recognise. It is retried automatically; if it keeps failing, open a support request quoting the operation id.`,
  };
}

/**
 * The one classifier of ACR's error answers, on every path that calls ACR for a conversion (starting, tracking):
 * by status, ACR's code and `detail.reason`, never by message text. 403 DENIED with a reason, 401, a malformed
 * answer: final; 429 and 5xx: retryable. `permissionsMode` (the registry's ARM `roleAssignmentMode`, when known)
 * picks the role a DENIED remediation names.
 */
export function classifyAcrError(
  status: number,
  code: string,
  reason: string | undefined,
  permissionsMode?: string,
): FailureClass {
  if (reason !== undefined && reason in catalogue) return failureClass(reason);
  if (status === 429) return failureClass('THROTTLED');
  if (status === 404 || notFoundCodes.has(code)) return failureClass('NOT_REPLICATED');
  if (code === 'DENIED') return { ...failureClass(code), remediation: deniedRemediation(permissionsMode) };
  if (code in catalogue) return failureClass(code);
  return {
    code,
    retryable: status >= 500,
    remediation: `ACR refused to start the conversion (HTTP ${status} ${code}).`,
  };
}

/**
 * The remediation once a failure is final: retryable failures say they were retried and stopped, and an unknown
 * error names the operation id to quote to Azure support. The registry is filled in where the catalogue says
 * `{registry}`.
 */
export function finalRemediation(
  failure: FailureClass,
  context: { registry: string; operationId?: string; attempts: number },
): string {
  return forRegistry(finalWords(failure, context), context.registry);
}

function finalWords(failure: FailureClass, context: { operationId?: string; attempts: number }): string {
  if (failure.reported !== undefined) {
    const words = failure.reported === '' ? 'a failure without details' : `"${failure.reported}"`;
    return `ACR reported ${words} (not a failure this app recognises) on the last of ${context.attempts} attempt(s). Open a support request quoting operation id ${context.operationId ?? '(none)'}, then start the conversion again with POST /api/registries/{registry}/conversions.`;
  }
  if (failure.code === 'UNKNOWN_ERROR') {
    return `ACR reported "Conversion operation failed due to an unknown error" on all ${context.attempts} attempt(s). Open a support request quoting operation id ${context.operationId ?? '(none)'} — Azure support can search their logs by it — then start the conversion again with POST /api/registries/{registry}/conversions.`;
  }
  if (failure.retryable)
    return `${failure.remediation.replace(/ It is (retried|converted) [^.]*\./, '')} Retried ${context.attempts} time(s) without success; start it again with POST /api/registries/{registry}/conversions once the cause is fixed.`.trim();
  return failure.remediation;
}

export function failureClass(code: string): FailureClass {
  const known = catalogue[code];
  return known ? { code, ...known } : { code, retryable: false, remediation: `ACR reported ${code}.` };
}
