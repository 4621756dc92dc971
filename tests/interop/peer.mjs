// Node `ws` as a real peer of weir, with permessage-deflate.
//
// Run by tests/interop_peers.rs (scripts/interop-test.sh runs `npm ci` here
// for the pinned `ws` of package-lock.json):
//
//   node peer.mjs server [DEFLATE...]          echo server on 127.0.0.1 (free port)
//   node peer.mjs client URL [--big] [DEFLATE...]
//
// DEFLATE: --server-no-context-takeover --client-no-context-takeover
//          --server-max-window-bits N --client-max-window-bits N
// Messages of every size are compressed (`threshold: 0`); otherwise ws's
// defaults apply.
//
// The server prints `listening 127.0.0.1:PORT`, then for every connection
// `negotiated: OFFER => ANSWER` (the Sec-WebSocket-Extensions headers), and
// echoes every message with its kind. It exits when its standard input
// closes.
//
// The client offers permessage-deflate, prints `negotiated: OFFER => ANSWER`,
// sends text and binary messages of 0 B, 20 B, 1 KiB (JSON-like), 64 KiB
// (compressible) and 1 MiB (the binary one random), plus 16 MiB with --big,
// checks every echo byte for byte, closes with 1000 and prints `ok: ...`. It
// exits non-zero on any failure, including an answer without
// permessage-deflate.
import { WebSocket, WebSocketServer } from 'ws';

// A hung peer fails the test instead of hanging it.
const DEADLINE = 120_000;

function fail(why) {
  console.log(`FAIL: ${why}`);
  process.exit(1);
}

function parseArgs(argv) {
  const args = { role: argv[0], deflate: { threshold: 0 }, big: false };
  const flags = {
    '--server-no-context-takeover': () => { args.deflate.serverNoContextTakeover = true; },
    '--client-no-context-takeover': () => { args.deflate.clientNoContextTakeover = true; },
    '--server-max-window-bits': (n) => { args.deflate.serverMaxWindowBits = Number(n); },
    '--client-max-window-bits': (n) => { args.deflate.clientMaxWindowBits = Number(n); },
    '--big': () => { args.big = true; },
  };
  for (let i = 1; i < argv.length; i++) {
    const set = flags[argv[i]];
    if (set) set(set.length ? argv[++i] : undefined);
    else if (args.role === 'client' && !args.url) args.url = argv[i];
    else fail(`unknown argument ${argv[i]}`);
  }
  if (!['server', 'client'].includes(args.role) || (args.role === 'client' && !args.url)) {
    fail('usage: peer.mjs server|client [URL] [--big] [DEFLATE...]');
  }
  return args;
}

// Exactly `size` bytes of UTF-8 mixing 1- to 4-byte characters.
function text(size) {
  const unit = Buffer.from('the quick brown fox, héllo wörld 😀 naïve café € 42; ');
  const bytes = Buffer.alloc(size, '.');
  for (let at = 0; at < size; at += unit.length) unit.copy(bytes, at);
  // A character cut short at the end becomes dots.
  let lead = size - 1;
  while (lead > 0 && (bytes[lead] & 0xc0) === 0x80) lead--;
  const len = bytes[lead] < 0x80 ? 1 : bytes[lead] < 0xe0 ? 2 : bytes[lead] < 0xf0 ? 3 : 4;
  if (size > 0 && lead + len > size) bytes.fill('.', lead);
  return bytes.toString('utf8');
}

function jsonLike(size) {
  const rows = [];
  for (let i = 0; i <= size / 32; i++) rows.push({ id: i, name: `user-${i}`, online: i % 3 === 0, score: (i * 37) % 101 });
  return JSON.stringify(rows).slice(0, size);
}

// xorshift32 bytes, masked: `mask` 0xff gives random bytes, 0x0f bytes of 16
// values (compressible whatever the window).
function randomBytes(size, seed, mask) {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & mask;
  }
  return out;
}

function messages(big) {
  const sizes = (n) => [text(n), Buffer.from(text(n))];
  const out = [...sizes(0), ...sizes(20), jsonLike(1024), Buffer.from(jsonLike(1024))];
  const cycle = Buffer.alloc(64 << 10);
  for (let i = 0; i < cycle.length; i++) cycle[i] = i & 0xff;
  out.push(text(64 << 10), cycle, text(1 << 20), randomBytes(1 << 20, 1, 0xff));
  if (big) out.push(text(16 << 20), randomBytes(16 << 20, 16, 0x0f));
  return out;
}

const describe = (m, binary = typeof m !== 'string') =>
  `${binary ? 'binary' : 'text'} of ${Buffer.byteLength(m)} bytes`;

function runServer(args) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: args.deflate });
  wss.on('listening', () => console.log(`listening 127.0.0.1:${wss.address().port}`));
  wss.on('headers', (headers, request) => {
    const answer = headers.find((h) => /^sec-websocket-extensions:/i.test(h))?.replace(/^[^:]*:\s*/, '');
    console.log(`negotiated: ${request.headers['sec-websocket-extensions'] ?? '(none)'} => ${answer ?? '(none)'}`);
  });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', (e) => console.log(`error: ${e.message}`));
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

async function runClient(args) {
  setTimeout(() => fail('deadline'), DEADLINE).unref();
  let offer = '(none)';
  const finishRequest = (request) => {
    offer = request.getHeader('sec-websocket-extensions') ?? offer;
    request.end();
  };
  const ws = new WebSocket(args.url, { perMessageDeflate: args.deflate, finishRequest });
  const inbox = [];
  let wake = null;
  ws.on('message', (data, isBinary) => { inbox.push({ data, isBinary }); wake?.(); });
  ws.on('error', (e) => fail(`socket error: ${e.message}`));
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  const upgrade = new Promise((resolve) => ws.on('upgrade', resolve));
  await new Promise((resolve) => ws.on('open', resolve));

  const response = await upgrade;
  const answer = response.headers['sec-websocket-extensions'] ?? '(none)';
  console.log(`negotiated: ${offer} => ${answer}`);
  if (!answer.includes('permessage-deflate')) fail('the server did not agree to permessage-deflate');

  const sent = messages(args.big);
  for (const [i, message] of sent.entries()) {
    ws.send(message);
    while (!inbox.length) await new Promise((resolve) => { wake = resolve; });
    const { data, isBinary } = inbox.shift();
    const binary = typeof message !== 'string';
    if (isBinary !== binary || !data.equals(Buffer.from(message))) {
      fail(`echo #${i} (${describe(message)}) came back as ${describe(data, isBinary)} with other content`);
    }
  }
  ws.close(1000);
  const code = await closed;
  if (code !== 1000) fail(`closed with ${code}, not 1000`);
  const total = sent.reduce((sum, m) => sum + Buffer.byteLength(m), 0);
  console.log(`ok: ${sent.length} messages (${total} bytes) echoed byte for byte`);
}

const args = parseArgs(process.argv.slice(2));
if (args.role === 'server') runServer(args);
else await runClient(args);
