import type { DomainEvent, DomainEventType, Outbox } from '../../../lib/core/outbox.js';

/** Outbox in memory, idempotent by event id like the Table adapter (the first write wins). */
export class InMemoryOutbox implements Outbox {
  private readonly byId = new Map<string, DomainEvent>();

  append(event: DomainEvent): Promise<void> {
    if (!this.byId.has(event.id)) this.byId.set(event.id, structuredClone(event));
    return Promise.resolve();
  }

  get events(): DomainEvent[] {
    return [...this.byId.values()];
  }

  ofType(type: DomainEventType): DomainEvent[] {
    return this.events.filter((event) => event.type === type);
  }
}
