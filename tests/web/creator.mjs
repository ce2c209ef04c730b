// The creator's way through the studio in a real browser (Debian's chromium, driven by
// playwright-core), for studio-web/tests/browser.rs: sign up, create a submission, upload a
// clip through the upload page (tus-js-client), and see the status change live (server-sent
// events) — on a phone-sized and a desktop viewport, in English and Chinese. Screenshots go to
// OUT_DIR.
//
// usage: node creator.mjs BASE_URL CLIP OUT_DIR
// One run loses the network mid-upload (retried by itself), another reloads the page while the
// network is down and picks the file again (resumed: one upload, created once).
// Prints one JSON line {"uploaded": SUBMISSION_ID, "run": NAME} per run once the upload is done,
// then waits (up to 30 s) for the test to fail that clip and the page to show it.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [base, clip, outDir] = process.argv.slice(2);
fs.mkdirSync(outDir, { recursive: true });

const runs = [
  { name: 'phone-en', lang: 'en', viewport: { width: 390, height: 844 }, mobile: true,
    done: 'Uploaded.', failed: 'Failed', drop: 'once' },
  { name: 'desktop-zh', lang: 'zh-CN', viewport: { width: 1280, height: 800 }, mobile: false,
    done: '上传完成', failed: '失败' },
  { name: 'phone-zh', lang: 'zh-CN', viewport: { width: 390, height: 844 }, mobile: true,
    done: '上传完成', failed: '失败' },
  { name: 'desktop-en', lang: 'en', viewport: { width: 1280, height: 800 }, mobile: false,
    done: 'Uploaded.', failed: 'Failed', drop: 'reload', retrying: 'trying again' },
];

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});

const shot = (page, run, step) =>
  page.screenshot({ path: path.join(outDir, `${run.name}-${step}.png`), fullPage: true });

async function creator(run) {
  const context = await browser.newContext({
    locale: run.lang,
    viewport: run.viewport,
    isMobile: run.mobile,
    hasTouch: run.mobile,
    extraHTTPHeaders: { 'Accept-Language': run.lang },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  await page.goto(`${base}/signup`);
  await page.fill('input[name=email]', `${run.name}@example.org`);
  await page.fill('input[name=display_name]', `Creator ${run.name}`);
  await page.fill('input[name=password]', 'a long enough password');
  await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);

  await page.goto(`${base}/submissions/new`);
  // First without the declarations: the messages show next to the fields.
  await page.selectOption('select[name=category]', 'dance');
  await page.fill('input[name=title]', `Moon <dance> ${run.name}`);
  await page.fill('textarea[name=people]', 'Li Wei: choreography');
  await page.fill('input[name=ai_tools]', 'Sora, Suno');
  await page.click('form.stack button[type=submit]');
  await page.waitForSelector('#error-rights_confirmed');
  await shot(page, run, '1-form-errors');
  await page.check('input[name=rights_confirmed]');
  await page.check('input[name=consent_confirmed]');
  await Promise.all([page.waitForURL(/\/submissions\/\d+\/upload$/), page.click('form.stack button[type=submit]')]);
  const id = Number(page.url().match(/\/submissions\/(\d+)\/upload$/)[1]);

  // Count the tus requests: a resumed upload is created once.
  const sent = { POST: 0, PATCH: 0 };
  page.on('request', (r) => {
    if (r.url().includes('/uploads/files') && r.method() in sent) { sent[r.method()] += 1; }
  });
  const tus = '**/uploads/files/*';
  if (run.drop === 'once') {
    // The network drops during the first PATCH: the page retries by itself.
    let dropped = false;
    await page.route(tus, (route) => {
      if (route.request().method() === 'PATCH' && !dropped) {
        dropped = true;
        return route.abort('connectionreset');
      }
      return route.continue();
    });
  }
  if (run.drop === 'reload') {
    // The network is down after the creation; the reader reloads the page and picks the file
    // again: the upload resumes (no second creation).
    await page.route(tus, (route) =>
      route.request().method() === 'PATCH' ? route.abort('internetdisconnected') : route.continue());
    await page.setInputFiles('#file', clip);
    await page.click('#start');
    await page.waitForFunction((text) => document.getElementById('status').textContent.includes(text), run.retrying);
    await shot(page, run, '2a-network-down');
    await page.unroute(tus);
    await page.reload();
  }
  await page.setInputFiles('#file', clip);
  await page.click('#start');
  await page.waitForFunction((text) => document.getElementById('status').textContent.includes(text), run.done);
  await shot(page, run, '2-uploaded');
  if (sent.POST !== 1) { throw new Error(`${run.name}: ${sent.POST} creations`); }
  if (run.drop && sent.PATCH < 2) { throw new Error(`${run.name}: no retry (${sent.PATCH} PATCH)`); }
  await page.waitForURL(`${base}/submissions/${id}`);
  await page.waitForSelector('.processing.state-checking');
  console.log(JSON.stringify({ uploaded: id, run: run.name }));

  // The test fails the clip now; the page changes without a reload.
  await page.waitForSelector('.processing.state-failed', { timeout: 30000 });
  const label = await page.textContent('.processing');
  if (!label.includes(run.failed)) { throw new Error(`status label ${label}`); }
  await shot(page, run, '3-failed-live');
  await page.goto(`${base}/submissions`);
  await page.waitForSelector('li.submission .reason');
  await shot(page, run, '4-list');
  await context.close();
}

try {
  for (const run of runs) {
    await creator(run);
  }
} catch (e) {
  console.error(String(e && e.stack || e));
  await browser.close();
  process.exit(1);
}
await browser.close();
