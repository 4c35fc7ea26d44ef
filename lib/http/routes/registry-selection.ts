import { registryNameSchema } from '../../core/registries.js';
import { z } from '../../core/zod.js';

/**
 * Which registries a run by hand covers, said the same way for audits and reports (issue #18 § 2): `registry` for
 * one, `registries` for several, neither for every configured registry.
 */
export const registrySelectionBody = z
  .object({
    registry: registryNameSchema.optional().openapi({ description: 'one registry' }),
    registries: z
      .array(registryNameSchema)
      .min(1)
      .max(50)
      .optional()
      .openapi({ description: 'several registries; every configured one when neither field is given' }),
  })
  .strict()
  .refine((body) => body.registry === undefined || body.registries === undefined, {
    message: 'give registry or registries, not both',
    path: ['registries'],
  });

/** The registries named, or undefined for every configured one. */
export function selectedRegistries(body: z.infer<typeof registrySelectionBody>): string[] | undefined {
  if (body.registry !== undefined) return [body.registry];
  return body.registries === undefined ? undefined : [...body.registries];
}
