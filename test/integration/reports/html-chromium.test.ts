import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHtml } from '../../../lib/reports/render/html.js';
import { report } from '../../unit/lib/reports/fixture.js';
import { Chromium, chromiumAvailable } from './chromium.js';

/**
 * The HTML report in a real browser (headless Chromium over the DevTools protocol): it loads with no console
 * error, no CSP violation and not one network request; it fits a phone screen; it prints. The screenshot goes to a
 * temporary folder, or to docs/report-screenshot.png with UPDATE_SCREENSHOTS=1.
 */
describe.skipIf(!chromiumAvailable)('HTML report in Chromium', () => {
  let browser: Chromium;
  let directory: string;
  let pageUrl: string;
  let session: string;
  const requests: string[] = [];
  const problems: string[] = [];

  const evaluate = async <T>(expression: string): Promise<T> => {
    const { result } = (await browser.send('Runtime.evaluate', { expression, returnByValue: true }, session)) as {
      result: { value: T };
    };
    return result.value;
  };

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'report-html-'));
    const file = join(directory, 'report.html');
    await writeFile(file, toHtml(report));
    pageUrl = pathToFileURL(file).href;
    browser = await Chromium.launch();
    session = await browser.newPage();
    browser.on((message) => {
      if (message.sessionId !== session) return;
      const params = message.params ?? {};
      if (message.method === 'Network.requestWillBeSent') {
        const url = (params.request as { url: string }).url;
        if (url !== pageUrl) requests.push(url);
      } else if (
        message.method === 'Runtime.consoleAPICalled' &&
        (params.type === 'error' || params.type === 'warning' || params.type === 'assert')
      ) {
        problems.push(`console.${String(params.type)}: ${JSON.stringify(params.args)}`);
      } else if (message.method === 'Runtime.exceptionThrown') {
        problems.push(`exception: ${JSON.stringify(params.exceptionDetails)}`);
      } else if (message.method === 'Log.entryAdded') {
        const entry = params.entry as { level: string; source: string; text: string; url?: string };
        if (entry.level === 'error' || entry.level === 'warning')
          problems.push(`${entry.source} ${entry.level}: ${entry.text} ${entry.url ?? ''}`);
      }
    });
    for (const domain of ['Page', 'Network', 'Runtime', 'Log']) await browser.send(`${domain}.enable`, {}, session);
    await browser.send(
      'Emulation.setDeviceMetricsOverride',
      { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false },
      session,
    );
    const loaded = browser.waitFor('Page.loadEventFired', session);
    await browser.send('Page.navigate', { url: pageUrl }, session);
    await loaded;
  });

  afterAll(async () => {
    await browser?.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('loads without console errors, CSP violations or a single network request', async () => {
    // Give late resource loads (fonts, favicons) a moment to show up.
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    expect(await evaluate<number>("performance.getEntriesByType('resource').length")).toBe(0);
    expect(await evaluate<number>('document.scripts.length')).toBe(0);
    expect(await evaluate<string>('document.title')).toBe('Artifact streaming compliance — 2026-11-23 06:00 UTC');
  });

  it('renders the charts and keeps markup in names as text', async () => {
    expect(await evaluate<number>("document.querySelectorAll('svg[role=img]').length")).toBeGreaterThanOrEqual(9);
    expect(
      await evaluate<boolean>(
        "[...document.querySelectorAll('svg[role=img]')].every((svg) => svg.getBoundingClientRect().width > 50 && svg.getBoundingClientRect().height > 50)",
      ),
    ).toBe(true);
    expect(
      await evaluate<boolean>("document.body.innerText.includes('team-<script>alert(1)</script>/ünïcødé-app')"),
    ).toBe(true);
    expect(await evaluate<number>("document.querySelectorAll('b, script, iframe').length")).toBe(0);
  });

  it('fits a phone screen: no page-wide horizontal scrolling (wide tables scroll in their own box)', async () => {
    await browser.send(
      'Emulation.setDeviceMetricsOverride',
      { width: 390, height: 844, deviceScaleFactor: 2, mobile: true },
      session,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));

    const overflow = await evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');

    await browser.send(
      'Emulation.setDeviceMetricsOverride',
      { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false },
      session,
    );
    expect(overflow).toBeLessThanOrEqual(0);
  });

  it('prints', async () => {
    const { data } = (await browser.send(
      'Page.printToPDF',
      { printBackground: true, preferCSSPageSize: true },
      session,
    )) as { data: string };

    expect(Buffer.from(data, 'base64').subarray(0, 5).toString('latin1')).toBe('%PDF-');
  });

  it('takes a screenshot of the summary and the first registry', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const bottom = await evaluate<number>(
      "Math.ceil(document.querySelector('#registry-0').getBoundingClientRect().bottom + window.scrollY + 24)",
    );
    const { data } = (await browser.send(
      'Page.captureScreenshot',
      { format: 'png', captureBeyondViewport: true, clip: { x: 0, y: 0, width: 1280, height: bottom, scale: 1 } },
      session,
    )) as { data: string };
    const target =
      process.env.UPDATE_SCREENSHOTS === '1'
        ? join(process.cwd(), 'docs', 'report-screenshot.png')
        : join(directory, 'report-screenshot.png');

    await writeFile(target, Buffer.from(data, 'base64'));

    expect(Buffer.from(data, 'base64').subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
  });
});
