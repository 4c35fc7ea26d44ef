import { describe, expect, it } from 'vitest';
import { RequestLog } from '../../../../dev/emulator/request-log.js';

const entry = (path: string) => ({
  time: '2026-11-23T00:00:00.000Z',
  listener: { kind: 'registry' as const, registry: 'sandbox', tls: true },
  method: 'GET',
  path,
  query: '',
  status: 200,
});

describe('emulator request log', () => {
  it('keeps at least the newest `capacity` entries and at most a tenth more', () => {
    const log = new RequestLog(100);
    for (let n = 1; n <= 1_000; n++) log.append(entry(`/v2/r/manifests/${n}`));
    const kept = log.query();
    expect(kept.length).toBeGreaterThanOrEqual(100);
    expect(kept.length).toBeLessThanOrEqual(110);
    expect(kept.at(-1)?.sequence).toBe(1_000);
    expect(kept.map((e) => e.sequence)).toEqual(Array.from({ length: kept.length }, (_, i) => 1_001 - kept.length + i));
  });

  it('filters by sequence, so a caller can count only what came after a mark', () => {
    const log = new RequestLog(10);
    for (let n = 1; n <= 30; n++) log.append(entry(`/p${n}`));
    expect(log.query({ since: 25 }).map((e) => e.path)).toEqual(['/p26', '/p27', '/p28', '/p29', '/p30']);
  });
});
