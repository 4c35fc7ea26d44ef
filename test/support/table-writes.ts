import type { TableClient } from '@azure/data-tables';

/** Entity writes a TableClient sent, by kind: a transaction counts each of its actions. */
export interface TableWrites {
  upserts: number;
  deletes: number;
}

export const noTableWrites = (): TableWrites => ({ upserts: 0, deletes: 0 });

const singleWrites: Readonly<Record<string, keyof TableWrites>> = {
  createEntity: 'upserts',
  upsertEntity: 'upserts',
  updateEntity: 'upserts',
  deleteEntity: 'deletes',
};

/**
 * The same TableClient, counting into `writes` every entity it writes or deletes (counted when sent, so a write that
 * fails is counted too): what the audit costs Table Storage, whatever the store's methods are called.
 */
export function countingTable(table: TableClient, writes: TableWrites): TableClient {
  return new Proxy(table, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        if (property === 'submitTransaction')
          for (const action of args[0] as readonly (readonly unknown[])[])
            writes[action[0] === 'delete' ? 'deletes' : 'upserts']++;
        else if (typeof property === 'string' && property in singleWrites) writes[singleWrites[property]!]++;
        return Reflect.apply(value, target, args);
      };
    },
  });
}
