// Node `ws` echo server for benches/echo.sh (the permessage-deflate
// workload): `node echo-ws.js PORT [takeover]`.
//
// As ws's README echo: every message is sent back with the same kind (text
// or binary). permessage-deflate is on, configured like weir's servers so
// that the rows compare like with like:
//   - zlib level 1 (ws's default is zlib's default, 6);
//   - threshold 128 bytes, as weir's DeflateConfig (ws's default is 1024:
//     ws compresses when the length is >= threshold, so 1 KiB messages would
//     be compressed by default too, but not smaller JSON messages);
//   - without `takeover`: server_no_context_takeover and
//     client_no_context_takeover imposed on every client, as weir-mio's
//     default DeflateConfig::low_memory(); with `takeover`: context takeover
//     both ways, as DeflateConfig::default(). Windows: 15 bits (ws default).
// ws sets TCP_NODELAY on every socket itself. zlib runs on libuv's thread
// pool; /proc/PID/stat counts the CPU of all the process's threads.
'use strict';

const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 9001);
const takeover = process.argv[3] === 'takeover';
const name = takeover ? 'node-ws-takeover' : 'node-ws';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: {
    threshold: 128,
    zlibDeflateOptions: { level: 1 },
    serverNoContextTakeover: !takeover,
    clientNoContextTakeover: !takeover,
  },
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });
  ws.on('error', () => {});
});

wss.on('listening', () => {
  console.log(`${name} listening on 127.0.0.1:${port}`);
});
