// Run Cypher in Neo4j Browser (served by the Neo4j test server) in a headless Chromium, as an
// analyst would: connect with the form, paste each command into the editor, run it, read the
// last result's table.
//
// stdin: JSON {"url": "http://127.0.0.1:PORT/browser/", "bolt": "bolt://127.0.0.1:PORT",
//              "user": "neo4j", "password": "...", "commands": ["...", ...],
//              "screenshot": "path.png", "chromium": "/usr/bin/chromium"}
// stdout: JSON {"offered": the connect form's address before typing, "columns": [...],
//          "rows": [[cell text, ...], ...]}: the last command's table as shown
// Exit code: 0 when it read a table, 1 otherwise (the reason on stderr; the screenshot is taken anyway).
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const input = JSON.parse(readFileSync(0, 'utf8'));
const TIMEOUT = input.timeout_ms ?? 60000;

const browser = await chromium.launch({
  executablePath: input.chromium,
  headless: true,
  // Root in a container has no user namespaces for Chromium's sandbox; the page is local.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let code = 0;
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
page.setDefaultTimeout(TIMEOUT);
// No network at test time: only the test server on loopback (Browser would fetch fonts, guides and
// send usage statistics elsewhere).
await page.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
try {
  await page.goto(input.url);
  // The connect form, as the URL's ?dbms= filled it ("offered"); typed again all the same.
  const offered = await page.getByTestId('boltaddress').inputValue();
  await page.getByTestId('boltaddress').fill(input.bolt);
  await page.getByTestId('username').fill(input.user);
  await page.getByTestId('password').fill(input.password);
  await page.getByTestId('connect').click();
  await page.getByTestId('disconnectedBanner').waitFor({ state: 'hidden' });
  await page.waitForSelector('text=/You are connected as user/');

  let frame;
  for (const command of input.commands) {
    const before = await page.getByTestId('frame').count();
    await page.getByTestId('activeEditor').click();
    // Pasted, not typed: the editor's auto-closing of brackets and quotes does not apply.
    await page.keyboard.insertText(command);
    await page.keyboard.press('Control+Enter');
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="frame"]').length > n, before);
    frame = page.getByTestId('frame').first(); // the newest frame is on top
    await frame.getByTestId('spinner').waitFor({ state: 'detached' });
    const error = frame.getByTestId('cypherFrameErrorMessage').or(frame.getByTestId('errorBanner'));
    if (await error.count()) {
      const shown = await error.first().innerText();
      throw new Error(`Browser shows an error for ${JSON.stringify(command.slice(0, 80))}: ${shown}`);
    }
  }
  const table = frame.locator('table[role="table"]');
  await table.waitFor();
  const columns = await table.locator('th[role="columnheader"]').allInnerTexts();
  const rows = [];
  for (const row of await table.locator('tbody tr').all()) {
    rows.push(await row.locator('td[role="cell"]').allInnerTexts());
  }
  process.stdout.write(JSON.stringify({ offered, columns, rows }));
} catch (error) {
  process.stderr.write(`browser.mjs: ${error.message}\n`);
  code = 1;
} finally {
  if (input.screenshot) await page.screenshot({ path: input.screenshot, fullPage: true });
  await browser.close();
}
process.exit(code);
