// The director's timeline in a real browser (Debian's chromium, playwright-core), for
// studio-web/tests/timeline_browser.rs: a director opens a seeded show, reorders by keyboard
// (Alt+ArrowDown) and by drag and drop (a table row and a timeline block), locks an item with
// L, rewrites a host line and sees the back-timing move, then another director saves first
// (an API call) and the page's next change shows the conflict message without overwriting.
// Screenshots go to OUT_DIR. Prints one JSON line of what it saw.
//
// usage: node timeline.mjs BASE_URL OUT_DIR RUN_JSON
// RUN_JSON: {"show", "director", "lang", "mobile"} (password below).
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
const context = await browser.newContext({
  locale: run.lang,
  viewport: run.mobile ? { width: 390, height: 844 } : { width: 1280, height: 900 },
  extraHTTPHeaders: { 'Accept-Language': run.lang },
});
const page = await context.newPage();
page.setDefaultTimeout(20000);
const shot = (step) => page.screenshot({ path: path.join(outDir, `timeline-${run.name}-${step}.png`), fullPage: true });
const fail = (what) => { throw new Error(what); };

await page.goto(`${base}/login`);
await page.fill('input[name=email]', run.director);
await page.fill('input[name=password]', password);
await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
await page.goto(`${base}/shows/${run.show}`);
await shot('1-opened');

const version = () => page.$eval('.timeline-state', (e) => Number(e.dataset.version));
const order = () => page.$$eval('tr.item', (rows) => rows.map((r) => Number(r.dataset.id)));
const blocks = () => page.$$eval('li.block', (bs) => bs.map((b) => Number(b.dataset.id)));
const clocks = () => page.$$eval('tr.item td.clock', (cs) => cs.map((c) => c.textContent.trim()));
const waitVersion = (v) => page.waitForFunction((want) =>
  Number(document.querySelector('.timeline-state').dataset.version) === want, v);

const seen = { start: await order() };
if ((await blocks()).join() !== seen.start.join()) fail('timeline and table disagree');
const v1 = await version();

// Keyboard: the first row one place down.
await page.focus(`tr.item[data-id="${seen.start[0]}"]`);
await page.keyboard.press('Alt+ArrowDown');
await waitVersion(v1 + 1);
seen.keyboard = await order();
if (seen.keyboard[1] !== seen.start[0] || seen.keyboard[0] !== seen.start[1]) fail(`keyboard move: ${seen.keyboard}`);
const focused = await page.evaluate(() => Number(document.activeElement.dataset.id));
if (focused !== seen.start[0]) fail('the moved row keeps the focus');
await shot('2-keyboard');

// Drag a table row: the last row onto the first.
const last = seen.keyboard[seen.keyboard.length - 1];
await page.dragAndDrop(`tr.item[data-id="${last}"]`, `tr.item[data-id="${seen.keyboard[0]}"]`);
await waitVersion(v1 + 2);
seen.drag_row = await order();
if (seen.drag_row[0] !== last) fail(`row drag: ${seen.drag_row}`);

// Drag a timeline block: the first block onto the third.
const moving = seen.drag_row[0];
await page.dragAndDrop(`li.block[data-id="${moving}"]`, `li.block[data-id="${seen.drag_row[2]}"]`);
await waitVersion(v1 + 3);
seen.drag_block = await order();
if (seen.drag_block[2] !== moving) fail(`block drag: ${seen.drag_block}`);
if ((await blocks()).join() !== seen.drag_block.join()) fail('the timeline follows the table');
await shot('3-dragged');

// Lock the last row with L; its lock is shown in the table and the timeline.
const toLock = seen.drag_block[seen.drag_block.length - 1];
await page.focus(`tr.item[data-id="${toLock}"]`);
await page.keyboard.press('l');
await waitVersion(v1 + 4);
if (!(await page.$eval(`tr.item[data-id="${toLock}"]`, (r) => r.classList.contains('locked')))) fail('locked row');
if (!(await page.$eval(`li.block[data-id="${toLock}"]`, (b) => b.classList.contains('locked')))) fail('locked block');
seen.locked = toLock;
// A locked row refuses to move: the page says why and the version stays.
await page.focus(`tr.item[data-id="${toLock}"]`);
await page.keyboard.press('Alt+ArrowUp');
await page.waitForSelector('#show-message.error');
seen.refused = (await page.textContent('#show-message')).trim();
if ((await version()) !== v1 + 4) fail('a refused move made a version');
await shot('4-locked');

// Rewrite the host line and lengthen its card: the clocks after it move.
const card = await page.$eval('tr.item.kind-host_card', (r) => Number(r.dataset.id));
const before = await clocks();
const endsBefore = (await page.textContent('#show-ends')).trim();
await page.click(`tr.item[data-id="${card}"]`);
const form = `#detail-${card} form.host-line`;
await page.fill(`${form} textarea[name=line]`, 'Ladies and gentlemen: the lantern dance!');
await page.fill(`${form} input[name=duration_s]`, '12.50');
await page.click(`${form} button[type=submit]`);
await waitVersion(v1 + 5);
const after = await clocks();
const endsAfter = (await page.textContent('#show-ends')).trim();
const text = await page.textContent(`#detail-${card} blockquote.host-card`);
if (!text.includes('lantern dance')) fail('the new line is shown');
if (endsAfter === endsBefore || after.join() === before.join()) fail('back-timing did not move');
seen.ends = [endsBefore, endsAfter];
seen.clocks = [before, after];
await shot('5-host-line');

// Another director saves first (an API call on the latest version).
const csrf = await page.$eval('#show', (e) => e.dataset.csrf);
const held = await version();
const other = await page.request.post(`${base}/api/shows/${run.show}/edits`, {
  headers: { 'X-CSRF-Token': csrf },
  data: { expected_version: held, edits: [{ op: 'set_duration', item: card, duration_ms: 7000 }] },
});
if (other.status() !== 200) fail(`the other save: ${other.status()}`);
const rows = await order();
const movable = rows.find((id, i) => i > 0 && id !== toLock);
await page.focus(`tr.item[data-id="${movable}"]`);
await page.keyboard.press('Alt+ArrowUp');
await page.waitForSelector('#show-message.conflict');
seen.conflict = (await page.textContent('#show-message')).trim();
if ((await order()).join() !== rows.join()) fail('the page changed after a conflict');
if ((await version()) !== held) fail('the page kept its version');
await shot('6-conflict');
// Reload: the other director's change is there.
await Promise.all([page.waitForEvent('load'), page.click('#show-message button.reload')]);
seen.final_version = await version();
if (seen.final_version !== held + 1) fail(`after the reload: version ${seen.final_version}`);
seen.final = await order();
await shot('7-reloaded');

console.log(JSON.stringify(seen));
await browser.close();
