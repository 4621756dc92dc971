// Headless-Chromium test of weir-mio's chat example: two tabs, alice and
// bob, talk in room "lobby" through the server at the URL given as the only
// argument. Run by scripts/browser-test.sh, which builds and starts the
// server: `node tests/browser/chat.test.mjs http://127.0.0.1:PORT/`.
//
// Both pages' sockets must have negotiated permessage-deflate (the server's
// default), and a message of about 2 KiB, compressed both ways, must reach
// the other tab whole.
//
// Every wait has a timeout, so a broken server fails the test instead of
// hanging it. On failure each page's screenshot goes to target/browser-test/
// and its text, console and WebSocket frames are printed. alice's page is
// saved as target/browser-test/chat.png in every case.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const url = process.argv[2];
if (!url) {
  console.error('usage: node chat.test.mjs http://127.0.0.1:PORT/');
  process.exit(2);
}
const TIMEOUT = 10_000;
const outDir = fileURLToPath(new URL('../../target/browser-test/', import.meta.url));
mkdirSync(outDir, { recursive: true });
for (const old of ['chat.png', 'alice-failure.png', 'bob-failure.png']) rmSync(join(outDir, old), { force: true });

const profile = mkdtempSync(join(tmpdir(), 'weir-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  viewport: { width: 800, height: 600 },
  timeout: 30_000,
});
context.setDefaultTimeout(TIMEOUT);

// Everything a page says, kept to print if a check fails.
const journal = new Map();
async function openTab(who) {
  const page = context.pages().find((p) => !journal.has(p) && p.url() === 'about:blank')
    ?? await context.newPage();
  const lines = [];
  journal.set(page, { who, lines });
  page.on('console', (m) => lines.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`page error: ${e.message}`));
  page.on('websocket', (ws) => {
    lines.push(`websocket ${ws.url()}`);
    ws.on('framesent', (f) => lines.push(`  sent ${f.payload}`));
    ws.on('framereceived', (f) => lines.push(`  received ${f.payload}`));
    ws.on('close', () => lines.push('  websocket closed'));
  });
  return page;
}

// Waits until `#id` holds exactly `text`.
async function textIs(page, id, text) {
  await page.waitForFunction(
    ([id, text]) => document.getElementById(id)?.textContent.trim() === text,
    [id, text], { timeout: TIMEOUT },
  );
}

// Waits until #log has an element of class `cls` whose text is `text`.
async function logHas(page, cls, text) {
  await page.locator(`#log .${cls}`).filter({ hasText: text }).first().waitFor({ timeout: TIMEOUT });
}

async function joinRoom(page, name, room) {
  await page.fill('#name', name);
  await page.fill('#room', room);
  await page.click('#join');
}

async function say(page, text) {
  await page.fill('#text', text);
  await page.click('#send');
}

// The extensions the page's socket (the page script's global `ws`)
// negotiated; fails unless they include permessage-deflate.
async function assertDeflate(page, who) {
  const extensions = await page.evaluate(() => ws?.extensions);
  if (!/(^|,\s*)permessage-deflate\b/.test(extensions ?? '')) {
    throw new Error(`${who}'s socket negotiated ${JSON.stringify(extensions)}, not permessage-deflate`);
  }
  console.log(`     ${who}'s socket: extensions "${extensions}"`);
}

// Waits until #log has a .msg line whose whole text is `text`.
async function logHasExactly(page, text) {
  await page.waitForFunction(
    (text) => [...document.querySelectorAll('#log .msg')].some((m) => m.textContent === text),
    text, { timeout: TIMEOUT },
  );
}

// About 2 KiB of text, mixed UTF-8: well above weir's 128-byte threshold,
// so the server compresses it (and Chromium compresses every message).
const LONG = ('héllo wörld 😀 ' + 'the quick brown fox jumps over the lazy dog. ').repeat(33);

let alice, bob;
const checks = [
  ['both tabs load the page and the socket opens', async () => {
    alice = await openTab('alice');
    bob = await openTab('bob');
    await alice.goto(url, { timeout: TIMEOUT });
    await bob.goto(url, { timeout: TIMEOUT });
    await textIs(alice, 'status', 'open');
    await textIs(bob, 'status', 'open');
  }],
  ['both sockets negotiated permessage-deflate', async () => {
    await assertDeflate(alice, 'alice');
    await assertDeflate(bob, 'bob');
  }],
  ['alice joins lobby and sees count 1', async () => {
    await joinRoom(alice, 'alice', 'lobby');
    await textIs(alice, 'count', '1');
  }],
  ['bob joins lobby; both see count 2', async () => {
    await joinRoom(bob, 'bob', 'lobby');
    await textIs(bob, 'count', '2');
    await textIs(alice, 'count', '2');
    await logHas(alice, 'notice', /bob joined/);
  }],
  ['bob sees alice\'s message, and so does alice', async () => {
    await say(alice, 'hello from alice');
    await logHas(bob, 'msg', /^alice: hello from alice$/);
    await logHas(alice, 'msg', /^alice: hello from alice$/);
  }],
  ['alice sees bob\'s answer', async () => {
    await say(bob, 'hi alice');
    await logHas(alice, 'msg', /^bob: hi alice$/);
  }],
  [`a long message (${Buffer.byteLength(LONG)} bytes) from alice reaches bob whole`, async () => {
    await say(alice, LONG);
    await logHasExactly(bob, `alice: ${LONG}`);
    await logHasExactly(alice, `alice: ${LONG}`);
  }],
  ['bob leaves; alice sees the notice and count 1', async () => {
    await bob.click('#leave');
    await logHas(alice, 'notice', /bob left/);
    await textIs(alice, 'count', '1');
    await textIs(bob, 'count', '0');
  }],
];

let passed = 0, failed = 0;
for (const [name, run] of checks) {
  try {
    await run();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n     ${String(e.message).split('\n')[0]}`);
    break; // each check builds on the one before
  }
}
const notRun = checks.length - passed - failed;

if (failed) {
  for (const [page, { who, lines }] of journal) {
    const shot = join(outDir, `${who}-failure.png`);
    await page.screenshot({ path: shot, timeout: TIMEOUT }).catch(() => {});
    const text = await page.evaluate(() => document.body.innerText).catch((e) => `(no text: ${e.message})`);
    console.log(`\n--- ${who}'s page (${shot}) ---\n${text}\n--- ${who}'s console and frames ---`);
    console.log(lines.join('\n') || '(nothing)');
  }
}
if (alice) {
  await alice.screenshot({ path: join(outDir, 'chat.png'), timeout: TIMEOUT }).catch((e) => {
    console.log(`could not save chat.png: ${e.message}`);
  });
}
await context.close();
rmSync(profile, { recursive: true, force: true });

if (notRun) console.log(`(${notRun} later checks not run)`);
console.log(`browser-test: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
