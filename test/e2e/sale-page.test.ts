/**
 * The live sale page in a real headless browser, served by `npm start`: a seller logs in, watches a
 * coupon sell out while the test grabs it, pauses it and sees grabs refused, resumes it. Leaves a
 * screenshot of the page (docs/sale-page.png when SECKILL_SCREENSHOT names it, else a temporary file).
 */
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { expectExactAfterSoldOutMemory, expectJson } from '../contract/contract-suite';
import { type Client, client, httpApi } from '../helpers/api';
import { launchBrowser } from '../helpers/browser';
import { inParallel } from '../helpers/faults';
import { type RunningServer, startServer } from '../helpers/offline';
import { type Stack, sleep, startStack } from '../helpers/stack';

let server: RunningServer;
let stack: Stack;
let api: Client;
let browser: Browser;

beforeAll(async () => {
  stack = await startStack();
  server = await startServer('scripts/start.ts', { QUEUE_URL: stack.queueUrl });
  api = client(httpApi(server.baseUrl));
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await stack?.close();
});

const card = (page: Page, name: string) => page.locator(`section.coupon[data-coupon="${name}"]`);

/** Waits until the locator's text (or attribute) matches, as the page refreshes itself. */
async function until(read: () => Promise<string | null>, expected: string | RegExp, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  while (Date.now() < deadline) {
    last = await read();
    if (typeof expected === 'string' ? last === expected : expected.test(last ?? '')) return;
    await sleep(100);
  }
  throw new Error(`expected ${String(expected)}, the page shows ${JSON.stringify(last)}`);
}

test('a seller logs in, watches a coupon sell out, pauses it, sees grabs refused, resumes it', async () => {
  const seller = await api.user('page_seller', 'saler');
  const customers = await inParallel(
    10,
    Array.from({ length: 40 }, (_, i) => () => api.user(`page_c${i}`, 'customer')),
  );
  expectJson(
    await api.createCoupon(seller, 'page_seller', { name: 'black-friday', amount: 25, stock: 5, description: '5 off' }),
    201,
    { errMsg: '' },
  );
  expectJson(
    await api.createCoupon(seller, 'page_seller', {
      name: 'tomorrow',
      amount: 10,
      stock: 1,
      startsAt: new Date(Date.now() + 86_400_000).toISOString(),
    }),
    201,
    { errMsg: '' },
  );

  // A locale of its own: the machine's (`en_US@posix` under some shells) is not a language tag.
  const page = await browser.newPage({ viewport: { width: 1200, height: 760 }, locale: 'en-US' });
  const requested: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  await page.goto(`${server.baseUrl}/sale`);
  await page.fill('#username', 'page_seller');
  await page.fill('#password', 'secret123');
  await page.click('#login-button');
  const hot = card(page, 'black-friday');
  await hot.waitFor({ timeout: 10_000 });
  await until(() => hot.locator('.left').textContent(), '25');
  expect(await card(page, 'tomorrow').locator('.status').textContent()).toBe('not started');

  // The sale: 40 customers grab over a few seconds, 25 win.
  const answers = [];
  for (let round = 0; round < 4; round++) {
    answers.push(
      ...(await inParallel(
        10,
        customers.slice(round * 10, round * 10 + 10).map((t) => () => api.grab(t, 'page_seller', 'black-friday')),
      )),
    );
    await sleep(700);
  }
  expect(answers.filter((r) => r.status === 201)).toHaveLength(25);
  await until(() => hot.locator('.left').textContent(), '0');
  expect(await hot.locator('.status').textContent()).toBe('sold out');
  // The plot is drawn by uPlot, served by the API.
  expect(await hot.locator('.uplot canvas').count()).toBeGreaterThan(0);

  // Pause: the page says so, and grabs are refused.
  await hot.locator('button.pause').click();
  await until(() => hot.getAttribute('data-paused'), 'true');
  expect(await hot.locator('.status').textContent()).toBe('paused');
  const late = await api.user('page_late', 'customer');
  await expectExactAfterSoldOutMemory(() => api.grab(late, 'page_seller', 'black-friday'), 'paused');
  await until(() => hot.locator('.outcomes').textContent(), /paused [1-9]/);

  // Resume, add stock through the API: the page shows the sale going on.
  await hot.locator('button.resume').click();
  await until(() => hot.getAttribute('data-paused'), 'false');
  const added = await api.api.request('POST', '/api/users/page_seller/coupons/black-friday/amount', {
    headers: { authorization: seller },
    body: { add: 5 },
  });
  expectJson(added, 200, { errMsg: '', amount: 30, left: 5 });
  await sleep(1100);
  expectJson(await api.grab(late, 'page_seller', 'black-friday'), 201, { errMsg: '' });
  await until(() => hot.locator('.left').textContent(), '4');
  expect(await hot.locator('.status').textContent()).toBe('on sale');

  await sleep(1200);
  // docs/sale-page.png is refreshed with SECKILL_SCREENSHOT=docs/sale-page.png; a plain run leaves
  // the checkout untouched.
  const shot = process.env.SECKILL_SCREENSHOT ?? join(tmpdir(), `sale-page-${process.pid}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  expect(statSync(shot).size).toBeGreaterThan(10_000);
  // Everything came from the API itself: no CDN.
  for (const url of requested) expect(url.startsWith(server.baseUrl)).toBe(true);
  expect(requested.some((u) => u.endsWith('/sale/uplot.js'))).toBe(true);
  expect(errors).toEqual([]);
  await page.close();
}, 120_000);
