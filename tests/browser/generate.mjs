// Opens the mvar serve page in headless Chromium, picks the given settings, clicks Generate, waits for the last scale
// and saves a screenshot. Prints a JSON summary; exits 1 when the page shows an error or fails a check.
// usage: node generate.mjs URL SCREENSHOT.png [--class N] [--arch var|mvar] [--seed N]
import { chromium } from 'playwright-core';

const [url, out, ...rest] = process.argv.slice(2);
if (!url || !out) { console.error('usage: node generate.mjs URL SCREENSHOT.png [--class N] [--arch var|mvar] [--seed N]'); process.exit(2); }
const opt = {};
for (let i = 0; i < rest.length; i += 2) opt[rest[i].replace(/^--/, '')] = rest[i + 1];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const fail = async message => { console.error('browser test: ' + message); await browser.close(); process.exit(1); };
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 760 } });
  const pageErrors = [];
  page.on('pageerror', e => pageErrors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('#status[data-state=ready]', { timeout: 30000 });
  const models = await (await page.request.get(new URL('/api/models', url).href)).json();
  if (opt.class !== undefined) await page.selectOption('#class', String(opt.class));
  if (opt.arch !== undefined) {
    await page.click(`#arch input[value=${opt.arch}] + span`);   // the toggle's visible half
    if (!(await page.isChecked(`#arch input[value=${opt.arch}]`))) await fail(`the ${opt.arch} toggle did not switch`);
  }
  if (opt.seed !== undefined) await page.fill('#seed', String(opt.seed));
  await page.click('#generate');
  await page.waitForSelector('#status[data-state=done], #status[data-state=error]', { timeout: 120000 });
  const status = await page.textContent('#status');
  const state = await page.getAttribute('#status', 'data-state');
  const previews = await page.locator('#strip img').count();
  const timings = await page.locator('#timings tbody tr').count();
  const current = await page.getAttribute('#current', 'src');
  await page.screenshot({ path: out, fullPage: true });
  console.log(JSON.stringify({ state, status, previews, timings, scales: models.patch_nums.length }));
  if (pageErrors.length) await fail('page errors: ' + pageErrors.join('; '));
  if (state !== 'done') await fail('the page shows: ' + status);
  if (previews !== models.patch_nums.length) await fail(`${previews} previews for ${models.patch_nums.length} scales`);
  if (timings !== models.patch_nums.length + 3) await fail(`${timings} timing rows for ${models.patch_nums.length} scales + previews, final, total`);
  if (!current || !current.startsWith('data:image/png;base64,')) await fail('the main image is not a PNG');
} catch (e) {
  await fail(e.message);
}
await browser.close();
