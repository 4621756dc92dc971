"""Python `websockets` as a real peer of weir, with permessage-deflate.

Run by tests/interop_peers.rs (scripts/interop-test.sh installs the pinned
`websockets` from requirements.txt into target/interop-venv):

  peer.py server [--tls CERT KEY] [DEFLATE...]   echo server on 127.0.0.1 (free port)
  peer.py client URL [--big] [--ca FILE] [DEFLATE...]

--tls serves wss:// with that certificate chain and key (PEM); --ca makes a
wss:// client trust the certificates in FILE (PEM) and nothing else.

DEFLATE: --server-no-context-takeover --client-no-context-takeover
         --server-max-window-bits N --client-max-window-bits N
With none given, websockets' own defaults apply.

The server prints `listening 127.0.0.1:PORT`, then for every connection
`negotiated: OFFER => ANSWER` (the Sec-WebSocket-Extensions headers), and
echoes every message with its kind. It exits when its standard input closes.

The client offers permessage-deflate, prints `negotiated: OFFER => ANSWER`,
sends text and binary messages of 0 B, 20 B, 1 KiB (JSON-like), 64 KiB
(compressible) and 1 MiB (the binary one random), plus 16 MiB with --big,
checks every echo byte for byte, closes with 1000 and prints `ok: ...`. It
exits non-zero on any failure, including an answer without
permessage-deflate.

websockets cannot compress with an 8-bit window (zlib refuses wbits=-8 for a
raw deflater): it rejects client_max_window_bits=8 as a client and
server_max_window_bits=8 as a server. It inflates with 8 bits fine.
"""

import argparse
import json
import os
import random
import ssl
import sys
import threading

from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.sync.client import connect
from websockets.sync.server import serve

# A hung peer fails the test instead of hanging it.
DEADLINE = 120
TIMEOUT = 30


def text(size):
    """Exactly `size` bytes of UTF-8 mixing 1- to 4-byte characters."""
    unit = "the quick brown fox, héllo wörld 😀 naïve café € 42; "
    encoded = (unit * (size // len(unit) + 1)).encode()[:size]
    encoded = encoded.decode("utf-8", "ignore").encode()
    return (encoded + b"." * (size - len(encoded))).decode()


def json_like(size):
    """`size` bytes of JSON-looking ASCII."""
    rows = [{"id": i, "name": f"user-{i}", "online": i % 3 == 0, "score": i * 37 % 101}
            for i in range(size // 32 + 1)]
    return json.dumps(rows)[:size]


def low_entropy(size):
    """`size` random bytes of 16 values: compressible whatever the window."""
    return random.Random(16).randbytes(size).translate(bytes(b & 0x0F for b in range(256)))


def messages(big):
    out = []
    for size in (0, 20):
        out += [text(size), text(size).encode()]
    out += [json_like(1024), json_like(1024).encode()]
    out += [text(64 << 10), (bytes(range(256)) * 256)]
    out += [text(1 << 20), random.Random(1).randbytes(1 << 20)]
    if big:
        out += [text(16 << 20), low_entropy(16 << 20)]
    return out


def describe(message):
    kind = "text" if isinstance(message, str) else "binary"
    size = len(message.encode()) if isinstance(message, str) else len(message)
    return f"{kind} of {size} bytes"


def deflate_options(args):
    """The factory arguments given on the command line, if any."""
    options = {}
    if args.server_no_context_takeover:
        options["server_no_context_takeover"] = True
    if args.client_no_context_takeover:
        options["client_no_context_takeover"] = True
    if args.server_max_window_bits is not None:
        options["server_max_window_bits"] = args.server_max_window_bits
    if args.client_max_window_bits is not None:
        options["client_max_window_bits"] = args.client_max_window_bits
    return options


def negotiated(request, response):
    offer = request.headers.get("Sec-WebSocket-Extensions", "(none)")
    answer = response.headers.get("Sec-WebSocket-Extensions", "(none)")
    return offer, answer


def run_server(args):
    options = deflate_options(args)
    extensions = [ServerPerMessageDeflateFactory(**options)] if options else None

    def echo(ws):
        offer, answer = negotiated(ws.request, ws.response)
        print(f"negotiated: {offer} => {answer}", flush=True)
        try:
            for message in ws:
                ws.send(message)
        except Exception as error:  # reported for the test's log
            print(f"error: {error!r}", flush=True)

    tls = None
    if args.tls:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*args.tls)
    with serve(echo, "127.0.0.1", 0, extensions=extensions, max_size=None,
               ping_interval=None, ssl=tls) as server:
        port = server.socket.getsockname()[1]
        print(f"listening 127.0.0.1:{port}", flush=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        sys.stdin.read()  # until the test closes our stdin
        server.shutdown()


def run_client(args):
    options = deflate_options(args)
    extensions = [ClientPerMessageDeflateFactory(**options)] if options else None
    tls = ssl.create_default_context(cafile=args.ca) if args.ca else None
    with connect(args.url, extensions=extensions, max_size=None, open_timeout=TIMEOUT,
                 close_timeout=TIMEOUT, ping_interval=None, ssl=tls) as ws:
        offer, answer = negotiated(ws.request, ws.response)
        print(f"negotiated: {offer} => {answer}", flush=True)
        if "permessage-deflate" not in answer:
            sys.exit("FAIL: the server did not agree to permessage-deflate")
        sent = messages(args.big)
        for i, message in enumerate(sent):
            ws.send(message)
            echo = ws.recv(timeout=TIMEOUT)
            if type(echo) is not type(message) or echo != message:
                sys.exit(f"FAIL: echo #{i} ({describe(message)}) came back as {describe(echo)}"
                         " with other content")
        ws.close()
        if ws.close_code != 1000:
            sys.exit(f"FAIL: closed with {ws.close_code}, not 1000")
    total = sum(len(m.encode()) if isinstance(m, str) else len(m) for m in sent)
    print(f"ok: {len(sent)} messages ({total} bytes) echoed byte for byte", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=["server", "client"])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--big", action="store_true", help="also 16 MiB messages")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve wss://")
    parser.add_argument("--ca", help="trust only these certificates (PEM) for wss://")
    parser.add_argument("--server-no-context-takeover", action="store_true")
    parser.add_argument("--client-no-context-takeover", action="store_true")
    parser.add_argument("--server-max-window-bits", type=int)
    parser.add_argument("--client-max-window-bits", type=int)
    args = parser.parse_args()
    if args.role == "server":
        run_server(args)
    elif not args.url:
        parser.error("client needs a URL")
    else:
        watchdog = threading.Timer(DEADLINE, lambda: (print("FAIL: deadline", flush=True),
                                                      os._exit(3)))
        watchdog.daemon = True
        watchdog.start()
        run_client(args)


if __name__ == "__main__":
    main()
