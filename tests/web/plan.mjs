// Propose and Render from the show page in a real browser (Debian's chromium,
// playwright-core), for studio-web/tests/timeline_browser.rs: a director opens an empty show,
// asks the planner for a running order (the page of reasons), goes back to the filled
// timeline, and asks for a render (its status shows on the page). Screenshots go to OUT_DIR.
// Prints one JSON line of what it saw.
//
// usage: node plan.mjs BASE_URL OUT_DIR RUN_JSON
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
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext({ locale: 'en', viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(20000);
const shot = (step) => page.screenshot({ path: path.join(outDir, `plan-${step}.png`), fullPage: true });
const fail = (what) => { throw new Error(what); };

await page.goto(`${base}/login`);
await page.fill('input[name=email]', run.director);
await page.fill('input[name=password]', password);
await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
await page.goto(`${base}/shows/${run.show}`);
const seen = { items_before: (await page.$$('tr.item')).length };

// Propose: the planner's page lists every placement with its reason.
await Promise.all([page.waitForURL(`${base}/shows/${run.show}/plan`), page.click('#propose')]);
seen.plan_rows = await page.$$eval('table.plan tbody tr', (rows) => rows.map((r) =>
  [...r.querySelectorAll('td')].map((td) => td.textContent.trim())));
if (seen.plan_rows.length === 0) fail('the plan page lists no items');
seen.plan_heading = (await page.textContent('h1')).trim();
await shot('1-reasons');

// Back to the timeline: the proposal is the show's new version.
await Promise.all([page.waitForURL(`${base}/shows/${run.show}`), page.click('.review-nav a')]);
seen.items_after = (await page.$$('tr.item')).length;
seen.version = Number(await page.$eval('.timeline-state', (e) => e.dataset.version));
await shot('2-proposed');

// Render: queued as a job, its state on the page.
await Promise.all([page.waitForURL(`${base}/shows/${run.show}`), page.click('#render')]);
seen.render_status = (await page.textContent('#render-status')).trim();
await shot('3-render-queued');

console.log(JSON.stringify(seen));
await browser.close();
