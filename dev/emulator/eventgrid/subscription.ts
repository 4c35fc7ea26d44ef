/** Event subscription settings, validated with the limits Event Grid enforces (delivery-and-retry.md). */
import { z } from 'zod';
import { IMAGE_DELETED, IMAGE_PUSHED, type EventGridEvent } from './events.js';

export const subscriptionSpecSchema = z.object({
  /** Event Grid names: 3–64 characters, letters, digits and hyphens. */
  name: z.string().regex(/^[A-Za-z0-9-]{3,64}$/, 'name must be 3-64 letters, digits or hyphens'),
  endpoint: z
    .string()
    .refine((value) => /^https?:\/\//.test(value) && URL.canParse(value), 'endpoint must be an http(s) URL'),
  /**
   * Registry name whose events this subscription receives (a system topic per registry); all registries when omitted.
   */
  registry: z.string().optional(),
  includedEventTypes: z
    .array(z.enum([IMAGE_PUSHED, IMAGE_DELETED]))
    .min(1)
    .optional(),
  subjectBeginsWith: z.string().optional(),
  subjectEndsWith: z.string().optional(),
  maxDeliveryAttempts: z.number().int().min(1).max(30).default(30),
  eventTimeToLiveInMinutes: z.number().int().min(1).max(1440).default(1440),
  /** Static delivery headers: at most 10, each value at most 4 KB. */
  deliveryHeaders: z
    .record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string().max(4096))
    .refine((headers) => Object.keys(headers).length <= 10, 'at most 10 delivery headers')
    .optional(),
  /** Directory standing in for the dead-letter blob container; dead-lettering is off when omitted. */
  deadLetterDirectory: z.string().min(1).optional(),
});

export type SubscriptionSpecInput = z.input<typeof subscriptionSpecSchema>;
export type SubscriptionSpec = z.output<typeof subscriptionSpecSchema>;

export function subscriptionMatches(spec: SubscriptionSpec, registryName: string, event: EventGridEvent): boolean {
  if (spec.registry !== undefined && spec.registry.toLowerCase() !== registryName.toLowerCase()) return false;
  if (spec.includedEventTypes && !spec.includedEventTypes.includes(event.eventType as typeof IMAGE_PUSHED))
    return false;
  if (spec.subjectBeginsWith !== undefined && !event.subject.startsWith(spec.subjectBeginsWith)) return false;
  if (spec.subjectEndsWith !== undefined && !event.subject.endsWith(spec.subjectEndsWith)) return false;
  return true;
}
