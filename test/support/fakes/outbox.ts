import type {
  DomainEvent,
  DomainEventType,
  NoticeEvent,
  Outbox,
  OutboxEvent,
  PolicyDriftEvent,
} from '../../../lib/core/outbox.js';

/** Outbox in memory, idempotent by event id like the Table adapter (the first write wins). */
export class InMemoryOutbox implements Outbox {
  private readonly byId = new Map<string, OutboxEvent>();

  append(event: OutboxEvent): Promise<void> {
    if (!this.byId.has(event.id)) this.byId.set(event.id, structuredClone(event));
    return Promise.resolve();
  }

  /** The conversion outcomes. */
  get events(): DomainEvent[] {
    return [...this.byId.values()].filter((event): event is DomainEvent => 'digest' in event);
  }

  ofType(type: DomainEventType): DomainEvent[] {
    return this.events.filter((event) => event.type === type);
  }

  /** The audits' and reports' notices (connected registries, consumers, …), in the order first appended. */
  get notices(): NoticeEvent[] {
    return [...this.byId.values()].filter(
      (event): event is NoticeEvent => !('digest' in event) && event.type !== 'policy.drift',
    );
  }

  /** The `policy.drift` events, in the order they were first appended. */
  get drifts(): PolicyDriftEvent[] {
    return [...this.byId.values()].filter((event): event is PolicyDriftEvent => event.type === 'policy.drift');
  }
}
