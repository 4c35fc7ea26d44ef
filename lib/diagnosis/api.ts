import { NotFoundError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import { digestProblem, isTag, repositoryProblem } from '../core/names.js';
import type { RegistrySettings } from '../core/registries.js';
import { z } from '../core/zod.js';
import type { Diagnosis } from './model.js';
import { diagnose, type DiagnosisPorts, type DiagnosisRequest } from './service.js';

/** An image reference: `repository:tag` or `repository@sha256:…`, with the reason when it is neither. */
export function parseImageReference(
  text: string,
): { ok: true; image: DiagnosisRequest['image'] } | { ok: false; reason: string } {
  const at = text.indexOf('@');
  if (at >= 0) {
    const repository = text.slice(0, at);
    const digest = text.slice(at + 1);
    const problem = repositoryProblem(repository) ?? digestProblem(digest);
    return problem === undefined ? { ok: true, image: { repository, digest } } : { ok: false, reason: problem };
  }
  const colon = text.lastIndexOf(':');
  // A colon inside a path component is a registry port, not a tag: "host:5000/app" has no tag.
  if (colon < 0 || text.indexOf('/', colon) >= 0)
    return { ok: false, reason: 'give repository:tag or repository@sha256:<64 hex>' };
  const repository = text.slice(0, colon);
  const tag = text.slice(colon + 1);
  const problem = repositoryProblem(repository) ?? (isTag(tag) ? undefined : `"${tag.slice(0, 130)}" is not a tag`);
  return problem === undefined ? { ok: true, image: { repository, tag } } : { ok: false, reason: problem };
}

const clusterIdPattern =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerService\/managedClusters\/[^/]+$/i;

/** `GET /api/registries/{registry}/diagnosis?image=…[&cluster=…]`. */
export const diagnosisQuery = z
  .object({
    image: z
      .string()
      .max(600)
      .transform((text, context) => {
        const parsed = parseImageReference(text);
        if (parsed.ok) return parsed.image;
        context.addIssue({ code: 'custom', message: parsed.reason });
        return z.NEVER;
      }),
    cluster: z
      .string()
      .max(1_000)
      .regex(
        clusterIdPattern,
        'an AKS resource ID: /subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters/{name}',
      )
      .optional(),
  })
  .strict();

/** The doctor's HTTP use case: the configured registry by name, its ports, one diagnosis. */
export class DoctorApi {
  constructor(
    private readonly registries: readonly RegistrySettings[],
    private readonly portsFor: (registry: RegistrySettings) => DiagnosisPorts,
  ) {}

  async diagnose(registry: string, query: z.infer<typeof diagnosisQuery>, log: Logger): Promise<Diagnosis> {
    const settings = this.registries.find((candidate) => candidate.name === registry);
    if (settings === undefined)
      throw new NotFoundError(`Registry ${registry} is not configured.`, [
        { field: 'params.registry', reason: 'not a configured registry' },
      ]);
    return diagnose(
      { registry: settings, image: query.image, ...(query.cluster ? { cluster: query.cluster } : {}) },
      this.portsFor(settings),
      log,
    );
  }
}
