import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../lib/report/renderReportHtml.ts';
import { sampleReport } from '../unit/sampleReport.ts';

/**
 * Debian's chromium (apt-get install chromium), never a downloaded browser; offline and quiet. A real browser is
 * outside Node.js, so this test is in the integration project, not in test/unit.
 */
const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};
const CHARTS = ['labels', 'confidence', 'convergence', 'holdout', 'timings'];
/** The few DOM calls the page functions use: the project compiles without the DOM lib. */
interface PageElement {
  getBoundingClientRect(): { width: number; height: number; right: number };
  readonly textContent: string | null;
}
interface PageDocument {
  querySelectorAll(selector: string): Iterable<PageElement> & { length: number };
  querySelector(selector: string): PageElement | null;
  readonly documentElement: { clientWidth: number };
}

/** docs/report-screenshot.png is refreshed only on request (UPDATE_SCREENSHOT=1), so test runs leave the tree clean. */
const DOCS_SCREENSHOT = join(import.meta.dirname, '../../docs/report-screenshot.png');

describe('report.html in a browser', () => {
  let dir: string;
  let browser: Browser;
  let page: Page;
  let fileUrl: string;
  const requests: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pseudolabel-report-'));
    const file = join(dir, 'report.html');
    await writeFile(file, await renderReportHtml(sampleReport()));
    fileUrl = pathToFileURL(file).href;
    browser = await chromium.launch(CHROMIUM);
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(fileUrl, { waitUntil: 'load' });
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('draws visible marks in every chart', async () => {
    // Act
    const visible = await page.evaluate((charts) => {
      const document = (globalThis as unknown as { document: PageDocument }).document;
      const counts: Record<string, number> = {};
      for (const key of charts) {
        const marks = document.querySelectorAll(
          `section[data-chart="${key}"] svg .role-mark path, section[data-chart="${key}"] svg .role-mark line`,
        );
        counts[key] = [...marks].filter((mark) => {
          const box = mark.getBoundingClientRect();
          return box.width > 0 && box.height > 0;
        }).length;
      }
      return counts;
    }, CHARTS);

    // Assess
    for (const key of CHARTS) expect(visible[key], key).toBeGreaterThan(0);
  });

  it('fits every chart in the page width and shows its text', async () => {
    // Act
    const layout = await page.evaluate(() => {
      const document = (globalThis as unknown as { document: PageDocument }).document;
      return {
        page: document.documentElement.clientWidth,
        charts: [...document.querySelectorAll('section[data-chart] svg')].map(
          (svg) => svg.getBoundingClientRect().right,
        ),
        title: document.querySelector('h1')?.textContent ?? '',
        axisLabels: document.querySelectorAll('svg .role-axis-label text').length,
      };
    });

    // Assess
    expect(layout.charts).toHaveLength(CHARTS.length);
    for (const right of layout.charts) expect(right).toBeLessThanOrEqual(layout.page);
    expect(layout.title).toContain('pseudolabel report');
    expect(layout.axisLabels).toBeGreaterThan(0);
  });

  it('loads nothing but the file itself and logs no error', () => {
    // Assess
    expect(requests).toEqual([fileUrl]);
    expect(problems).toEqual([]);
  });

  it('takes a full-page screenshot', async () => {
    // Prepare
    const path = process.env.UPDATE_SCREENSHOT === '1' ? DOCS_SCREENSHOT : join(dir, 'report.png');

    // Act
    await page.screenshot({ path, fullPage: true });

    // Assess
    const { size } = await stat(path);
    expect(size).toBeGreaterThan(50_000);
    expect(size).toBeLessThan(1_500_000);
  });
});
