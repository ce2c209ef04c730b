// The review half in a real browser (Debian's chromium, playwright-core), for
// studio-web/tests/browser.rs: a reviewer logs in, finds the submission in the queue, opens its
// evidence, accepts it; the creator then sees "accepted" on their page — on a phone-sized and a
// desktop viewport, in English and Chinese. Screenshots go to OUT_DIR.
//
// usage: node review.mjs BASE_URL OUT_DIR RUNS_JSON
// RUNS_JSON: [{"name", "lang", "mobile", "submission", "reviewer", "creator"}], one per run,
// each with its own submission (a clip already processed) and accounts (password below).
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [base, outDir, runsJson] = process.argv.slice(2);
fs.mkdirSync(outDir, { recursive: true });
const runs = JSON.parse(runsJson);
const password = 'a long enough password';
const accepted = { en: 'Accepted', 'zh-CN': '已入选' };

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});

async function loggedIn(run, email) {
  const context = await browser.newContext({
    locale: run.lang,
    viewport: run.mobile ? { width: 390, height: 844 } : { width: 1280, height: 800 },
    isMobile: run.mobile,
    hasTouch: run.mobile,
    extraHTTPHeaders: { 'Accept-Language': run.lang },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
  return { context, page };
}

const shot = (page, run, step) =>
  page.screenshot({ path: path.join(outDir, `${run.name}-${step}.png`), fullPage: true });

for (const run of runs) {
  const reviewer = await loggedIn(run, run.reviewer);
  const page = reviewer.page;
  await page.goto(`${base}/review`);
  await shot(page, run, 'review-1-queue');
  await Promise.all([page.waitForURL(`${base}/review/${run.submission}`),
    page.click(`a[href="/review/${run.submission}"]`)]);
  await page.check('input[name=decision][value=accept]');
  await page.fill('textarea[name=note]', 'Lovely <b>work</b>, see you on the night.');
  await shot(page, run, 'review-2-evidence');
  await Promise.all([page.waitForURL(`${base}/review/${run.submission}/history`),
    page.click('form[action$="/decision"] button[type=submit]')]);
  await shot(page, run, 'review-3-history');
  await reviewer.context.close();

  const creator = await loggedIn(run, run.creator);
  await creator.page.goto(`${base}/submissions/${run.submission}`);
  await creator.page.getByText(accepted[run.lang], { exact: false }).first().waitFor();
  await shot(creator.page, run, 'review-4-creator-sees-accepted');
  await creator.context.close();
  console.log(JSON.stringify({ accepted: run.submission, run: run.name }));
}
await browser.close();
