// Node `ws` broadcast server for benches/broadcast.sh:
// `node broadcast-ws.js PORT`.
//
// The broadcast of ws's README ("Server broadcast"): every message received
// is sent, with the same kind, to every open client, the sender included,
// by looping over `wss.clients`. No permessage-deflate (ws's server
// default). ws sets TCP_NODELAY on every socket itself.
'use strict';

const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2] || 9001);

const wss = new WebSocketServer({ host: '127.0.0.1', port });

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    wss.clients.forEach((client) => {
      if (client.readyState === WebSocket.OPEN) {
        client.send(data, { binary: isBinary });
      }
    });
  });
  ws.on('error', () => {});
});

wss.on('listening', () => {
  console.log(`broadcast-node-ws listening on 127.0.0.1:${port}`);
});
