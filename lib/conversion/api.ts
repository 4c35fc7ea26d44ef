import { z } from '../core/zod.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import { isTag } from '../core/names.js';
import { digestSchema, repositoryNameSchema } from '../core/name-schemas.js';
import type { ConversionStore } from './ports.js';
import { conversionStatuses } from '../core/image.js';
import { type ConversionRecord } from './record.js';
import type { ConversionService } from './service.js';
import { registryNameSchema } from '../core/registries.js';

/** What the API shows of a conversion: everything but the internal lock fields. */
export type ConversionView = Omit<
  ConversionRecord,
  'trackingToken' | 'leaseUntil' | 'decidedWith' | 'reservation' | 'progressBaselinePercent' | 'progressBaselineAt'
>;

const optionalText = z.string().optional();
/** The same view as a schema, for the OpenAPI document; the type check below keeps it equal to ConversionView. */
export const conversionViewSchema = z
  .object({
    registry: z.string(),
    repository: z.string(),
    digest: z.string(),
    status: z.enum(conversionStatuses),
    tags: z.array(z.string()),
    kind: optionalText,
    mediaType: optionalText,
    platforms: optionalText.describe('os/architecture list, comma separated'),
    sizeBytes: z.number().optional(),
    reason: z.string().describe('why it is (or is not) converted, in words'),
    skipReason: optionalText,
    policyScope: optionalText,
    source: z.enum(['event', 'manual', 'backfill']),
    generation: optionalText.describe('id of the conversion run: a restart or a re-push starts a new one'),
    operationId: optionalText,
    operationStatus: optionalText,
    progress: optionalText,
    expectedFinishAt: optionalText.describe(
      'while running: when the observed rate of progress says the conversion ends (absent when unknown)',
    ),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    polls: z.number().int(),
    transientErrors: z.number().int().optional().describe('transient ACR failures while tracking, each backed off'),
    nextCheckAt: optionalText,
    awaitAcrUntil: optionalText.describe("a native push: until then the app waits for ACR's own conversion to show"),
    deadlineAt: optionalText,
    lastErrorCode: optionalText,
    lastErrorMessage: optionalText,
    remediation: optionalText.describe('what to do about the last error'),
    correlationId: optionalText,
    lastEventId: optionalText,
    lastEventTime: optionalText.describe('time of the newest registry event the row acted on; older ones are ignored'),
    requestedBy: optionalText.describe('who started this run by hand (object id)'),
    canceledBy: optionalText.describe('who canceled it (object id)'),
    createdAt: z.string(),
    updatedAt: z.string(),
    startedAt: optionalText,
    completedAt: optionalText,
  })
  .openapi('Conversion');
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const viewMatchesSchema: Same<
  Required<z.infer<typeof conversionViewSchema>>,
  Required<{
    -readonly [K in keyof ConversionView]: ConversionView[K] extends readonly (infer T)[] ? T[] : ConversionView[K];
  }>
> = true;
void viewMatchesSchema;

export function toView(record: ConversionRecord): ConversionView {
  const {
    trackingToken: _token,
    leaseUntil: _lease,
    decidedWith: _basis,
    reservation: _reservation,
    progressBaselinePercent: _baselinePercent,
    progressBaselineAt: _baselineAt,
    expectedFinishAt,
    ...view
  } = record;
  // An estimate only describes a conversion ACR is running; a row that left Running by a path that kept it (a delete
  // while converting) does not show it.
  return record.status === 'Running' && expectedFinishAt !== undefined ? { ...view, expectedFinishAt } : view;
}

const repository = repositoryNameSchema;
const digest = digestSchema;

export const startConversionBody = z
  .object({
    repository,
    tag: z.string().refine(isTag, 'not a valid tag').optional(),
    digest: digest.optional(),
    /** Attempt even when the platform looks unsupported; ACR then answers with its own error and remediation. */
    force: z.boolean().default(false),
  })
  .strict()
  .refine((body) => (body.tag === undefined) !== (body.digest === undefined), {
    message: 'give exactly one of tag or digest',
    path: ['tag'],
  });

export const listConversionsQuery = z
  .object({
    repository: repository.optional(),
    status: z.enum(conversionStatuses).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    continuationToken: z.string().max(2_048).optional(),
    pageSize: z.coerce.number().int().min(1).max(1_000).default(100),
    includeReferrers: z
      .enum(['true', 'false'])
      .default('false')
      .transform((value) => value === 'true')
      .openapi({
        description:
          'also list referrers (the streaming artifacts the conversions push, signatures, SBOMs), each recorded ' +
          'Skipped (referrer); left out by default, so a page may hold fewer than pageSize items',
      }),
  })
  .strict();

export const imageParams = z.object({ registry: registryNameSchema, digest }).strict();
export const registryParams = z.object({ registry: registryNameSchema }).strict();
export const repositoryQuery = z.object({ repository }).strict();

/** The conversion HTTP use cases; functions/ only parse and map. */
export class ConversionApi {
  constructor(
    private readonly service: ConversionService,
    private readonly store: ConversionStore,
    private readonly configuredRegistries: readonly string[],
    private readonly resolveTag: (registry: string, repository: string, tag: string) => Promise<string | undefined>,
  ) {}

  async start(
    registry: string,
    body: z.infer<typeof startConversionBody>,
    requestedBy: string,
    log: Logger,
  ): Promise<ConversionView> {
    this.assertRegistry(registry);
    const resolved = body.digest ?? (await this.resolveTag(registry, body.repository, body.tag!));
    if (resolved === undefined)
      throw new NotFoundError(`Tag ${body.tag ?? ''} does not exist in ${registry}/${body.repository}.`, [
        { field: 'body.tag', reason: 'no such tag' },
      ]);
    const key = { registry, repository: body.repository, digest: resolved };
    const outcome = await this.service.request(
      key,
      { source: 'manual', tags: body.tag ? [body.tag] : [], manual: true, force: body.force, requestedBy },
      log,
    );
    if (outcome === 'gone')
      throw new NotFoundError(`${registry}/${body.repository}@${resolved} does not exist.`, [
        { field: 'body.digest', reason: 'no such manifest' },
      ]);
    return this.get(registry, body.repository, resolved);
  }

  async get(registry: string, repositoryName: string, digestValue: string): Promise<ConversionView> {
    this.assertRegistry(registry);
    const record = await this.store.read({ registry, repository: repositoryName, digest: digestValue });
    if (record === undefined)
      throw new NotFoundError(`No conversion recorded for ${registry}/${repositoryName}@${digestValue}.`);
    return toView(record.value);
  }

  async list(
    registry: string,
    query: z.infer<typeof listConversionsQuery>,
  ): Promise<{ items: ConversionView[]; continuationToken?: string }> {
    this.assertRegistry(registry);
    const page = await this.store.list(
      registry,
      {
        ...(query.repository ? { repository: query.repository } : {}),
        ...(query.status ? { status: query.status } : {}),
        ...(query.since ? { since: new Date(query.since) } : {}),
      },
      { pageSize: query.pageSize, ...(query.continuationToken ? { continuationToken: query.continuationToken } : {}) },
    );
    // Every conversion pushes a referrer, and its push event records it `Skipped (referrer)`: left in, they would
    // double the list with rows nobody acts on. Filtered after the page is read (Table Storage cannot test an
    // absent property), so a page may be short; the continuation token still leads on.
    const items = query.includeReferrers ? page.items : page.items.filter((item) => item.kind !== 'referrer');
    return {
      items: items.map(toView),
      ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}),
    };
  }

  async cancel(
    registry: string,
    repositoryName: string,
    digestValue: string,
    canceledBy: string,
    log: Logger,
  ): Promise<ConversionView> {
    this.assertRegistry(registry);
    const record = await this.service.cancel(
      { registry, repository: repositoryName, digest: digestValue },
      log,
      canceledBy,
    );
    if (record === undefined)
      throw new NotFoundError(`No conversion recorded for ${registry}/${repositoryName}@${digestValue}.`);
    return toView(record);
  }

  private assertRegistry(registry: string): void {
    if (!this.configuredRegistries.includes(registry))
      throw new NotFoundError(`Registry ${registry} is not configured.`, [
        { field: 'params.registry', reason: 'not a configured registry' },
      ]);
  }
}

export function requireRepository(query: Record<string, string>): string {
  const result = repositoryQuery.safeParse(query);
  if (!result.success)
    throw new ValidationError(
      'The repository query parameter is required (repository names contain "/", so they travel in the query).',
      [{ field: 'query.repository', reason: 'required; an OCI repository name' }],
    );
  return result.data.repository;
}
