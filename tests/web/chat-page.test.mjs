// Drives the built-in chat page in headless Chromium (Debian's /usr/bin/chromium, no
// browser download): ask, see the rows and the chart, sort, export CSV, follow up, and
// save screenshots to target/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, startServer } from './server.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'target/artifacts');
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let server;
let context;
let profile;

before(async () => {
  server = await startServer();
  profile = mkdtempSync(path.join(tmpdir(), 't2t-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    acceptDownloads: true,
    viewport: { width: 1100, height: 1300 },
    timeout: 60000,
  });
  context.setDefaultTimeout(30000);
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await context?.close();
  server?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function ask(page, question) {
  const before = await page.getByTestId('turn').count();
  await page.getByTestId('question').fill(question);
  await page.getByTestId('question').press('Enter');
  const turn = page.getByTestId('turn').nth(before);
  await turn.locator('[data-testid="results-table"], [data-testid="error"]').first().waitFor();
  return turn;
}

test('GET / serves the page to browsers and JSON to API clients', async () => {
  const json = await fetch(server.url + '/').then((r) => r.json());
  assert.equal(json.service, 'Talk 2 Tables');
  const html = await fetch(server.url + '/', { headers: { Accept: 'text/html' } }).then((r) => r.text());
  assert.match(html, /<div id="root">/);
});

test('ask, see rows and chart, sort, export CSV, screenshot', async () => {
  const page = await context.newPage();
  await page.goto(server.url + '/');
  await page.getByTestId('connection').filter({ hasText: 'healthy' }).waitFor();

  const turn = await ask(page, 'Total sales by category');
  // Progress events arrived over the stream.
  const stages = await turn.locator('[data-testid="progress"] li').allTextContents();
  assert.ok(stages.some((s) => s.startsWith('executing')), `stages: ${stages}`);
  // SQL with highlighting, the resolved business term.
  const sql = turn.getByTestId('sql');
  assert.match(await sql.textContent(), /GROUP BY products\.category/);
  assert.ok((await sql.locator('.tok-keyword').count()) >= 4);
  assert.match(await turn.getByTestId('entities').textContent(), /sales/i);

  // The rows: the ten categories.
  const table = turn.getByTestId('results-table');
  const headers = await table.locator('thead th').allTextContents();
  assert.deepEqual(headers.map((h) => h.trim()), ['category', 'total_sales']);
  const rows = table.locator('tbody tr');
  assert.equal(await rows.count(), 10);
  const categories = await table.locator('tbody tr td:first-child').allTextContents();
  assert.ok(categories.includes('Electronics') && categories.includes('Office Supplies'), `${categories}`);

  // The chart: one bar per category.
  const chart = turn.getByTestId('chart');
  assert.equal(await chart.getAttribute('data-kind'), 'bar');
  assert.equal(await chart.locator('rect.bar').count(), 10);

  // Sorting: click total_sales twice → descending by number.
  await table.locator('thead th').nth(1).click();
  await table.locator('thead th').nth(1).click();
  const totals = (await table.locator('tbody tr td:nth-child(2)').allTextContents()).map(Number);
  assert.deepEqual(totals, [...totals].sort((a, b) => b - a));
  assert.ok(totals[0] > totals[9]);

  // CSV export: the download holds the header and the sorted rows.
  const [download] = await Promise.all([page.waitForEvent('download'), turn.getByTestId('export-csv').click()]);
  assert.match(download.suggestedFilename(), /^query_results_\d{4}-\d{2}-\d{2}\.csv$/);
  const csvPath = path.join(ARTIFACTS, 'chat-page-export.csv');
  await download.saveAs(csvPath);
  const lines = readFileSync(csvPath, 'utf8').trim().split(/\r\n/);
  assert.equal(lines[0], 'category,total_sales');
  assert.equal(lines.length, 11);
  const top = await table.locator('tbody tr').first().locator('td').allTextContents();
  assert.equal(lines[1], `${top[0]},${top[1]}`);
  assert.ok(lines.some((l) => l.startsWith('"Home & Garden",') || l.startsWith('Home & Garden,')));

  // A date plus a number gives a line chart.
  const monthly = await ask(page, 'Revenue by month');
  assert.equal(await monthly.getByTestId('chart').getAttribute('data-kind'), 'line');
  assert.ok((await monthly.locator('circle.dot').count()) >= 12);

  await page.screenshot({ path: path.join(ARTIFACTS, 'chat-page.png'), fullPage: true });
  await page.getByTestId('theme-toggle').click();
  const theme = await page.evaluate(() => document.documentElement.dataset.theme);
  assert.ok(theme === 'dark' || theme === 'light');
  await page.screenshot({ path: path.join(ARTIFACTS, `chat-page-${theme}.png`), fullPage: true });
  await page.close();
});

test('a question the engine cannot answer shows its error code', async () => {
  const page = await context.newPage();
  await page.goto(server.url + '/');
  const turn = await ask(page, 'what is the meaning of life');
  assert.match(await turn.getByTestId('error').textContent(), /UNANSWERABLE/);
  await page.close();
});
