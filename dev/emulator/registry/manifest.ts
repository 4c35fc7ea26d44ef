import { createHash } from 'node:crypto';
import { z } from 'zod';
import { errors } from './errors.js';
import { isIndexMediaType, manifestMediaTypes } from './media-types.js';

export const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

export function sha256Digest(bytes: Buffer): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

const platformSchema = z.object({
  architecture: z.string(),
  os: z.string(),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
});

export const descriptorSchema = z.object({
  mediaType: z.string(),
  digest: z.string().regex(DIGEST_PATTERN),
  size: z.number().int().nonnegative(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: platformSchema.optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

const imageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export type ParsedManifest =
  | ({ readonly kind: 'image'; readonly mediaType: string } & z.infer<typeof imageManifestSchema>)
  | ({ readonly kind: 'index'; readonly mediaType: string } & z.infer<typeof indexSchema>);

/**
 * Parses a pushed manifest. The media type is the request's Content-Type when it names a manifest type, else
 * the body's `mediaType` (what distribution does); a body that declares a different type is rejected.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw errors.manifestInvalid('manifest is not valid JSON');
  }
  const declared =
    typeof json === 'object' && json !== null && 'mediaType' in json && typeof json.mediaType === 'string'
      ? json.mediaType
      : undefined;
  const header = contentType?.split(';')[0]?.trim();
  const mediaType = header !== undefined && manifestMediaTypes.has(header) ? header : declared;
  if (mediaType === undefined || !manifestMediaTypes.has(mediaType)) {
    throw errors.manifestInvalid(`unsupported manifest media type ${String(header ?? declared)}`);
  }
  if (declared !== undefined && declared !== mediaType) {
    throw errors.manifestInvalid(`mediaType in manifest (${declared}) does not match Content-Type (${mediaType})`);
  }
  if (isIndexMediaType(mediaType)) {
    const parsed = indexSchema.safeParse(json);
    if (!parsed.success) throw errors.manifestInvalid(parsed.error.message);
    return { ...parsed.data, kind: 'index', mediaType };
  }
  const parsed = imageManifestSchema.safeParse(json);
  if (!parsed.success) throw errors.manifestInvalid(parsed.error.message);
  return { ...parsed.data, kind: 'image', mediaType };
}

const imageConfigSchema = z.object({ architecture: z.string().optional(), os: z.string().optional() });

/** `architecture`/`os` from an image config blob; undefined when the blob is not an image config. */
export function platformFromConfig(bytes: Buffer | undefined): { architecture?: string; os?: string } {
  if (!bytes) return {};
  try {
    const parsed = imageConfigSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}
