/**
 * Why audit findings are partitioned per repository: the cost of a 100-entity upsert transaction as one partition
 * grows, against the same number of entities spread over 50 partitions, on the same Azurite in one run.
 *
 *   npx tsx bench/azurite-partitions.ts [transactions, default 200]
 */
import { TableClient, type TransactionAction } from '@azure/data-tables';
import { startAzurite } from '../dev/azurite.js';

const transactions = Number(process.argv[2] ?? 200);
const quarter = Math.max(1, Math.floor(transactions / 4));

async function measure(table: TableClient, partitionOf: (transaction: number) => string): Promise<number[]> {
  const msPerTransaction: number[] = [];
  let started = performance.now();
  for (let transaction = 0; transaction < transactions; transaction++) {
    const partitionKey = partitionOf(transaction);
    const actions: TransactionAction[] = Array.from({ length: 100 }, (_, i) => [
      'upsert',
      { partitionKey, rowKey: `r${transaction}-${i}`, finding: 'x'.repeat(300) },
      'Replace',
    ]);
    await table.submitTransaction(actions);
    if ((transaction + 1) % quarter === 0) {
      const now = performance.now();
      msPerTransaction.push((now - started) / quarter);
      started = now;
    }
  }
  return msPerTransaction;
}

const azurite = await startAzurite();
try {
  const table = (name: string): TableClient =>
    TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
  const one = table('benchonepartition');
  const many = table('benchmanypartitions');
  await Promise.all([one.createTable(), many.createTable()]);
  const single = await measure(one, () => 'f:registry');
  const spread = await measure(many, (transaction) => `f:registry@repo${transaction % 50}`);
  console.log(
    `\n${transactions} upsert transactions of 100 entities into one partition vs 50 partitions (Azurite in memory)\n`,
  );
  console.log(
    '| entities written so far | one partition: ms per transaction | 50 partitions: ms per transaction | ratio |',
  );
  console.log('|---:|---:|---:|---:|');
  single.forEach((ms, index) => {
    const other = spread[index] ?? Number.NaN;
    console.log(
      `| ${(index + 1) * quarter * 100} | ${ms.toFixed(1)} | ${other.toFixed(1)} | ${(ms / other).toFixed(1)} |`,
    );
  });
} finally {
  await azurite.stop();
}
