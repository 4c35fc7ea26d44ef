import { describe, expect, it } from 'vitest';
import type { ImageFinding } from '../../../../../lib/reports/model.js';
import { csvCell, csvColumns, csvRow, toCsv } from '../../../../../lib/reports/render/csv.js';
import { fakeSource, findingsOf, formulaRepository, hostileRepository } from '../fixture.js';

/** A strict RFC 4180 parser (quoted fields, doubled quotes, CRLF records), to read back what the renderer wrote. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"' && field === '') quoted = true;
    else if (char === ',') {
      record.push(field);
      field = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else if (char === '\n' || char === '"') throw new Error(`bare ${JSON.stringify(char)} at ${i}`);
    else field += char;
  }
  if (field !== '' || record.length > 0) throw new Error('last record not terminated by CRLF');
  return records;
}

async function collect(iterable: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const chunk of iterable) text += chunk;
  return text;
}

describe('CSV renderer', () => {
  it('writes a header and one row per finding of every registry, in order', async () => {
    const source = fakeSource();
    const registries = ['contosoprod', 'contosostaging', 'sandboxbasic'];

    const records = parseCsv(await collect(toCsv(source, registries)));

    expect(records[0]).toEqual([...csvColumns]);
    const expected = registries.flatMap((registry) => findingsOf(registry));
    expect(records).toHaveLength(expected.length + 1);
    expect(records.slice(1).map((record) => record[0])).toEqual(expected.map((finding) => finding.registry));
    expect(records.every((record) => record.length === csvColumns.length)).toBe(true);
  });

  it('quotes commas, quotes and line breaks and reads back to the original text', async () => {
    const records = parseCsv(await collect(toCsv(fakeSource(), ['contosostaging'])));
    const hostile = records.find((record) => record[1] === hostileRepository)!;

    expect(hostile[5]).toBe('Conversion failed: "UNKNOWN_ERROR", after 3 attempts,\nretries stopped');
    expect(hostile[3]).toBe('v1 latest');
    expect(hostile[9]).toBe('73400320');
    expect(csvCell('a "quoted", value')).toBe('"a ""quoted"", value"');
    expect(csvCell('line\r\nbreak')).toBe('"line\r\nbreak"');
    expect(csvCell('plain ünïcødé')).toBe('plain ünïcødé');
  });

  it('defuses cells a spreadsheet would run as formulas (= + - @ tab CR)', async () => {
    const records = parseCsv(await collect(toCsv(fakeSource(), ['contosostaging'])));
    const formula = records.find((record) => record[1]?.endsWith(formulaRepository))!;

    expect(formula[1]).toBe(`'${formulaRepository}`);
    expect(formula[5]).toBe("'+SUM(A1:A9)");
    expect(formula[7]).toBe('\'@HYPERLINK("http://evil")');
    expect(records.find((record) => record[5]?.includes('is not an answer'))![5]).toBe("'-1 is not an answer");
    for (const starter of ['=', '+', '-', '@', '\t', '\r'])
      expect(csvCell(`${starter}1`).replace(/^"/, '').startsWith("'")).toBe(true);
    const cells = records.slice(1).flat();
    expect(cells.filter((cell) => /^[=+\-@\t\r]/.test(cell))).toEqual([]);
  });

  it('leaves numbers as numbers and omits absent optional fields', () => {
    const finding: ImageFinding = {
      registry: 'r1',
      repository: 'a/b',
      digest: 'sha256:00',
      tags: [],
      status: 'converted',
      reason: 'streamable',
      sizeBytes: 0,
      checkedAt: '2026-11-23T00:00:00.000Z',
    };

    expect(csvRow(finding)).toBe('r1,a/b,sha256:00,,converted,streamable,,,,0,,2026-11-23T00:00:00.000Z\r\n');
  });

  it('streams: a large registry is yielded in chunks, not one string', async () => {
    const many = Array.from({ length: 5_000 }, (_, index): ImageFinding => ({
      registry: 'big',
      repository: `repo/${index}`,
      digest: `sha256:${index}`,
      tags: ['v1'],
      status: 'missing',
      reason: 'no streaming referrer',
      checkedAt: '2026-11-23T00:00:00.000Z',
    }));
    const source = {
      async *findings(): AsyncIterable<ImageFinding> {
        for (const finding of many) yield await Promise.resolve(finding);
      },
    };

    const chunks: string[] = [];
    for await (const chunk of toCsv(source, ['big'])) chunks.push(chunk);

    expect(chunks.length).toBeGreaterThan(1);
    expect(parseCsv(chunks.join(''))).toHaveLength(5_001);
  });
});
