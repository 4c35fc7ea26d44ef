export { createEventGridEngine } from './engine.js';
export type {
  AtLeastOnceSettings,
  DeliveryLogEntry,
  EventGridEngine,
  EventGridEngineOptions,
  EventGridLogger,
  ProvisioningState,
  SubscriptionView,
} from './types.js';
export { createEventGridControlHandler, EVENTGRID_CONTROL_BASE } from './control.js';
export { IMAGE_DELETED, IMAGE_PUSHED, azureTimestamp, toEventGridEvent } from './events.js';
export type { ContainerRegistryEventData, EventGridEvent } from './events.js';
export { subscriptionSpecSchema } from './subscription.js';
export type { SubscriptionSpec, SubscriptionSpecInput } from './subscription.js';
export type { DeadLetterRecord } from './dead-letter.js';
export { LATE_RETRY_MS, RETRY_SCHEDULE_MS } from './retry.js';
export { clockTimeline, scaledTimeline } from './timeline.js';
export type { Timeline } from './timeline.js';
