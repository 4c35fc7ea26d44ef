import { registryParams } from '../../conversion/api.js';
import { diagnosisQuery, type DoctorApi } from '../../diagnosis/api.js';
import { requirePrincipal } from '../principal.js';
import { parseParts, queryObject } from '../request.js';
import type { HttpRoute } from '../route.js';

export interface DiagnosisRouteDependencies {
  readonly doctor: DoctorApi;
}

/** The doctor: why an image would not stream or not pull, as a checklist (issue #20 §2). */
export const diagnosisRoutes = {
  /** `GET registries/{registry}/diagnosis?image=repo:tag|repo@digest[&cluster=<AKS resource id>]`. */
  get: (async (request, context, { doctor }) => {
    requirePrincipal(request, 'Streaming.Read');
    const { registry } = parseParts(request.params, registryParams, 'params');
    const query = parseParts(queryObject(request), diagnosisQuery, 'query');
    return { status: 200, jsonBody: await doctor.diagnose(registry, query, context) };
  }) satisfies HttpRoute<DiagnosisRouteDependencies>,
};
