// The live page in a real browser (Debian's chromium, playwright-core), for
// studio-web/tests/live_browser.rs: a director opens the page of a show on air, sees ON AIR
// and the item on air, watches the HLS preview play in the page, takes the next item with
// the button and sees the as-run log say so. Screenshots go to OUT_DIR. Prints one JSON line.
//
// usage: node live.mjs BASE_URL OUT_DIR RUN_JSON
// RUN_JSON: {"show", "director"} (password below).
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [base, outDir, runJson] = process.argv.slice(2);
fs.mkdirSync(outDir, { recursive: true });
const run = JSON.parse(runJson);
const password = 'a long enough password';

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
});
const context = await browser.newContext({ locale: 'en', viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(30000);
const shot = (step) => page.screenshot({ path: path.join(outDir, `live-${step}.png`), fullPage: true });

await page.goto(`${base}/login`);
await page.fill('input[name=email]', run.director);
await page.fill('input[name=password]', password);
await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
await page.goto(`${base}/shows/${run.show}/live`);
await page.waitForFunction(() => document.querySelector('#live-state')?.textContent.includes('ON AIR'));
const seen = {};
seen.onAir = (await page.textContent('#live-on-air')).trim();
// The preview plays: its clock moves.
const logs = [];
page.on('console', (m) => logs.push(m.text()));
page.on('response', (r) => { if (r.url().includes('/preview/')) logs.push(`${r.status()} ${r.url()}`); });
try {
  await page.waitForFunction(() => {
    const v = document.querySelector('#live-preview');
    return v && v.currentTime > 1.0 && v.readyState >= 2;
  }, null, { timeout: 45000 });
} catch (e) {
  const state = await page.$eval('#live-preview', (v) => ({ src: v.src, error: v.error && v.error.message, code: v.error && v.error.code,
    network: v.networkState, ready: v.readyState, time: v.currentTime }));
  console.log(JSON.stringify({ state, logs: logs.slice(0, 40) }));
  throw e;
}
seen.previewTime = await page.$eval('#live-preview', (v) => v.currentTime);
await shot('1-on-air');
// Take the next item now: the form posts and the page comes back.
await Promise.all([page.waitForURL((u) => u.pathname.endsWith('/live')), page.click('#cmd-take_next')]);
await page.waitForFunction(() => document.querySelector('table.as-run')?.textContent.includes('taken out at'));
seen.takenOut = true;
await shot('2-taken-next');
console.log(JSON.stringify(seen));
await browser.close();
