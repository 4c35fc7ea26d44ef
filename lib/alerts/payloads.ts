/**
 * What receivers get. The webhook body is a documented, versioned JSON schema (docs/alerts.md); Teams gets an Adaptive
 * Card 1.4 in the message envelope that Workflows webhooks accept (docs/sources.md § Teams Workflows messages).
 */
import type { AlertEventType } from '../core/alert-event-types.js';

export { alertEventTypes, type AlertEventType } from '../core/alert-event-types.js';

export const severities = ['info', 'warning', 'error'] as const;
export type Severity = (typeof severities)[number];

/** Version 1 of the webhook body. Fields that do not apply to an event are omitted, never null. */
export interface WebhookBody {
  readonly schemaVersion: '1';
  /** Stable across retries; equals the `webhook-id` header, so receivers can deduplicate. */
  readonly id: string;
  readonly type: AlertEventType;
  readonly severity: Severity;
  /** When the event happened (ISO 8601). */
  readonly time: string;
  readonly registry: string;
  readonly repository?: string;
  readonly tag?: string;
  readonly digest?: string;
  readonly operationId?: string;
  readonly status?: string;
  readonly errorCode?: string;
  readonly attempts?: number;
  /** One line a person can read. */
  readonly message: string;
  /** What to do about it. */
  readonly remediation?: string;
  readonly links: ReadonlyArray<{ readonly title: string; readonly url: string }>;
  /** For `alerts.summary`: the events it stands for (capped; `omitted` counts the rest). */
  readonly events?: ReadonlyArray<{
    readonly type: AlertEventType;
    readonly repository?: string;
    readonly digest?: string;
    readonly errorCode?: string;
    readonly time: string;
  }>;
  readonly omitted?: number;
}

/** The Teams Workflows envelope around an Adaptive Card 1.4. */
export interface TeamsMessage {
  readonly type: 'message';
  readonly attachments: ReadonlyArray<{
    readonly contentType: 'application/vnd.microsoft.card.adaptive';
    readonly contentUrl: null;
    readonly content: AdaptiveCard;
  }>;
}

export interface AdaptiveCard {
  readonly $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  readonly type: 'AdaptiveCard';
  readonly version: '1.4';
  readonly body: ReadonlyArray<Record<string, unknown>>;
  readonly actions?: ReadonlyArray<{ readonly type: 'Action.OpenUrl'; readonly title: string; readonly url: string }>;
}
