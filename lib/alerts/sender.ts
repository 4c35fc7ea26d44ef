import { Webhook } from 'standardwebhooks';

export interface SendResult {
  /** 0 when no answer came (timeout, refused, reset). */
  readonly status: number;
  /** From `Retry-After`, when the receiver gave one. */
  readonly retryAfterMs?: number;
  /** What went wrong, without the URL (it may carry a signature). */
  readonly error?: string;
}

export interface AlertSender {
  send(request: { url: string; body: string; headers: Record<string, string> }): Promise<SendResult>;
}

/** Standard Webhooks headers (webhook-id stays the same across retries; the timestamp is this attempt's). */
export function signWebhook(secret: string, id: string, body: string, now: Date): Record<string, string> {
  const signature = new Webhook(secret).sign(id, now, body);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signature,
  };
}
