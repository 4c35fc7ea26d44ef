/**
 * The sandbox inbox: alert receivers on the emulator's management listener, so a registry owner (and the tests) can
 * see what the app's alerts look like before wiring real Teams channels or webhooks. See README.md.
 */
import type { RouteHandler } from '../contract.js';
import { createInboxControlHandler } from './control.js';
import { createInboxReceiverHandler } from './receivers.js';
import { InboxStore, type InboxStoreOptions } from './store.js';

export { renderAdaptiveCard, renderCardsPage, escapeHtml } from './cards-page.js';
export {
  ADAPTIVE_CARD_CONTENT_TYPE,
  TEAMS_MAX_BYTES,
  TEAMS_MAX_CARD_VERSION,
  createInboxReceiverHandler,
} from './receivers.js';
export { createInboxControlHandler } from './control.js';
export {
  InboxStore,
  behaviourSchema,
  channelNameSchema,
  generateWebhookSecret,
  receiverPath,
  type Behaviour,
  type BehaviourInput,
  type BehaviourView,
  type ChannelKind,
  type DeliveryFilter,
  type DeliveryOutcome,
  type InboxChannel,
  type InboxDelivery,
  type InboxStoreOptions,
} from './store.js';

export interface Inbox {
  readonly store: InboxStore;
  /** For the management listener (`EmulatorOptions.management`). */
  readonly receiverHandler: RouteHandler;
  /** For the control listener (`Emulator.mountControl`). */
  readonly controlHandler: RouteHandler;
}

export function createInbox(options: InboxStoreOptions): Inbox {
  const store = new InboxStore(options);
  return {
    store,
    receiverHandler: createInboxReceiverHandler(store),
    controlHandler: createInboxControlHandler(store),
  };
}

export const SANDBOX_WEBHOOK_CHANNEL = 'sandbox-webhook';
export const SANDBOX_TEAMS_CHANNEL = 'sandbox-teams';

/**
 * Creates the sandbox's two channels and returns the app settings that point the product at them.
 *
 * ALERT_CHANNELS is a provisional schema (the lead finalises it): a JSON array of
 * `{name, kind: 'webhook'|'teams', urlSetting, secretSetting?}`, where the URL and secret live in their own settings
 * because both are secrets (a Workflows URL carries its `sig`).
 */
export function createSandboxAlertChannels(store: InboxStore): Record<string, string> {
  const webhook = store.addChannel({ name: SANDBOX_WEBHOOK_CHANNEL, kind: 'webhook' });
  const teams = store.addChannel({ name: SANDBOX_TEAMS_CHANNEL, kind: 'teams' });
  return {
    ALERT_CHANNELS: JSON.stringify([
      {
        name: webhook.name,
        kind: 'webhook',
        urlSetting: 'ALERT_SANDBOX_WEBHOOK_URL',
        secretSetting: 'ALERT_SANDBOX_WEBHOOK_SECRET',
      },
      { name: teams.name, kind: 'teams', urlSetting: 'ALERT_SANDBOX_TEAMS_URL' },
    ]),
    ALERT_SANDBOX_WEBHOOK_URL: webhook.url,
    ALERT_SANDBOX_WEBHOOK_SECRET: webhook.secret!,
    ALERT_SANDBOX_TEAMS_URL: teams.url,
  };
}
