import { describe, expect, it } from 'vitest';
import {
  classifyOperationFailure,
  classifyAcrError,
  failureClass,
  finalRemediation,
} from '../../../../lib/conversion/failures.js';

describe('classifyOperationFailure', () => {
  it.each([
    ['UNSUPPORTED_PLATFORM', false],
    ['NO_SUPPORTED_PLATFORM_FOUND', false],
    ['UNSUPPORTED_MEDIATYPE', false],
    ['UNSUPPORTED_ARTIFACT_TYPE', false],
    ['SKU_NOT_SUPPORTED', false],
    ['CMK_NOT_SUPPORTED', false],
    ['IMAGE_TOO_LARGE', false],
    ['UNKNOWN_ERROR', true],
    ['NOT_REPLICATED', true],
    ['REFERRER_MISSING', true],
    ['TIMED_OUT', false],
  ])('recognises %s in the details (retryable: %s)', (code, retryable) => {
    const failure = classifyOperationFailure('Failed', `${code}: something went wrong for resource app@sha256:abc`);

    expect(failure.code).toBe(code);
    expect(failure.retryable).toBe(retryable);
    expect(failure.remediation).not.toBe('');
  });

  it('finds the code anywhere in the text, skipping codes it does not know', () => {
    expect(
      classifyOperationFailure('Failed', 'conversion of app failed (SOME_OTHER_THING); cause UNSUPPORTED_MEDIATYPE')
        .code,
    ).toBe('UNSUPPORTED_MEDIATYPE');
  });

  it('classifies the unknown-error sentence without a code as UNKNOWN_ERROR, naming the operation id in the remediation advice', () => {
    const failure = classifyOperationFailure('Failed', 'Conversion operation failed due to an unknown error');

    expect(failure).toMatchObject({ code: 'UNKNOWN_ERROR', retryable: true });
    expect(failure.remediation).toMatch(/operation id/);
  });

  it.each([
    'MANIFEST_UNKNOWN: manifest sha256:abc is not known',
    'BLOB_UNKNOWN: blob unknown to registry',
    'NAME_UNKNOWN: repository name not known',
    'manifest not found in westeurope',
  ])('treats a not-found (%s) as not yet replicated', (details) => {
    expect(classifyOperationFailure('Failed', details)).toMatchObject({ code: 'NOT_REPLICATED', retryable: true });
  });

  it('prefers a named not-found code to the unknown-error sentence', () => {
    expect(
      classifyOperationFailure('Failed', 'MANIFEST_UNKNOWN: Conversion operation failed due to an unknown error').code,
    ).toBe('NOT_REPLICATED');
  });

  it("scenario 8: keeps unrecognised details in ACR's own words and retries them as unclassified", () => {
    const none = classifyOperationFailure('Failed', undefined);
    const prose = classifyOperationFailure('Failed', 'The conversion could not be completed.');

    expect(none).toMatchObject({ code: 'UNCLASSIFIED', retryable: true, reported: '' });
    expect(prose).toMatchObject({ code: 'UNCLASSIFIED', retryable: true });
    expect(prose.remediation).toContain('"The conversion could not be completed."');
  });

  it('scenario 8: takes an uncatalogued code-like token verbatim, and never words it as an unknown error', () => {
    const failure = classifyOperationFailure('Failed', 'UNSUPPORTED_SKU: streaming is not enabled for this SKU');
    const final = finalRemediation(failure, { registry: 'contoso', operationId: 'op-9', attempts: 3 });

    expect(failure).toMatchObject({ code: 'UNSUPPORTED_SKU', retryable: true });
    expect(final).toContain('"UNSUPPORTED_SKU: streaming is not enabled for this SKU"');
    expect(final).toContain('op-9');
    expect(final).not.toMatch(/unknown error/i);
  });

  it('classifies a canceled operation as CANCELED whatever the details say', () => {
    expect(classifyOperationFailure('Canceled', 'UNSUPPORTED_PLATFORM: x')).toMatchObject({
      code: 'CANCELED',
      retryable: false,
    });
  });
});

describe('classifyAcrError', () => {
  it('prefers the detail reason', () => {
    expect(classifyAcrError(403, 'DENIED', 'SKU_NOT_SUPPORTED')).toMatchObject({
      code: 'SKU_NOT_SUPPORTED',
      retryable: false,
    });
    expect(classifyAcrError(403, 'DENIED', 'CMK_NOT_SUPPORTED')).toMatchObject({
      code: 'CMK_NOT_SUPPORTED',
      retryable: false,
    });
  });

  it('uses the ACR code when the reason is absent or unknown', () => {
    expect(classifyAcrError(403, 'DENIED', undefined)).toMatchObject({
      code: 'DENIED',
      retryable: false,
      remediation: expect.stringContaining('AcrPush') as string,
    });
    expect(classifyAcrError(401, 'UNAUTHORIZED', 'SOMETHING_NEW')).toMatchObject({
      code: 'UNAUTHORIZED',
      retryable: false,
    });
  });

  it('treats 429 as throttling, retryable', () => {
    expect(classifyAcrError(429, 'TOOMANYREQUESTS', undefined)).toMatchObject({ code: 'THROTTLED', retryable: true });
  });

  it('treats a 404 or a not-found code as not yet replicated', () => {
    expect(classifyAcrError(404, 'OPERATION_UNKNOWN', undefined).code).toBe('NOT_REPLICATED');
    expect(classifyAcrError(400, 'MANIFEST_UNKNOWN', undefined).code).toBe('NOT_REPLICATED');
  });

  it('keeps an uncatalogued code, retryable only for server errors', () => {
    expect(classifyAcrError(400, 'UNSUPPORTED', undefined)).toEqual({
      code: 'UNSUPPORTED',
      retryable: false,
      remediation: 'ACR refused to start the conversion (HTTP 400 UNSUPPORTED).',
    });
    expect(classifyAcrError(500, 'INTERNAL', undefined)).toMatchObject({ code: 'INTERNAL', retryable: true });
  });
});

describe('failureClass', () => {
  it('describes an uncatalogued code as final', () => {
    expect(failureClass('SOMETHING_NEW')).toEqual({
      code: 'SOMETHING_NEW',
      retryable: false,
      remediation: 'ACR reported SOMETHING_NEW.',
    });
  });
});
