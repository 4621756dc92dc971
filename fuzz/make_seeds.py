#!/usr/bin/env python3
"""Writes the committed seed corpus: fuzz/corpus/<target>/seed-*.

Each target's input layout is documented at the top of its source file;
this script wraps protocol bytes (RFC 6455 examples, a browser upgrade
request, a 101 response, mixed UTF-8, RFC 7692's compressed examples and a
deflate bomb made with zlib) in those layouts. Run it from anywhere; it
rewrites every seed-* file and leaves other corpus files alone.
"""
import base64
import hashlib
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])  # RFC 6455 5.7's masking key


def frame(opcode, payload=b"", fin=True, mask=None, rsv1=False):
    """One frame with the minimal length encoding; rsv1 marks it compressed."""
    out = bytearray([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    m = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        out.append(m | n)
    elif n < 65536:
        out += bytes([m | 126]) + struct.pack(">H", n)
    else:
        out += bytes([m | 127]) + struct.pack(">Q", n)
    if mask:
        out += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes(out + payload)


def frame_stream(mask):
    """RFC 6455 5.7's examples and friends, as one peer would send them."""
    k = KEY if mask else None
    return {
        "hello": frame(0x1, b"Hello", mask=k),
        "fragmented-hello": frame(0x1, b"Hel", fin=False, mask=k) + frame(0x0, b"lo", mask=k),
        "ping-pong": frame(0x9, b"Hello", mask=k) + frame(0xA, b"Hello", mask=k),
        "binary-256": frame(0x2, bytes(range(256)), mask=k),
        "binary-64k-header": (bytes([0x82, (0x80 if mask else 0) | 127])
                              + struct.pack(">Q", 65536) + (KEY if mask else b"") + b"\0" * 16),
        "fragments-with-ping": (frame(0x1, "κό".encode()[:3], fin=False, mask=k)
                                + frame(0x9, b"", mask=k)
                                + frame(0x0, "κό".encode()[3:] + "σμε".encode(), mask=k)),
        "close-1000-bye": frame(0x1, "mixed ascii, κόσμε, 😀".encode(), mask=k)
                          + frame(0x8, struct.pack(">H", 1000) + b"bye", mask=k),
        "invalid-utf8": frame(0x1, "κόσμε".encode() + b"\xed\xa0\x80edited", mask=k),
        "many-pings": b"".join(frame(0x9, bytes([i]) * 125, mask=k) for i in range(12)),
    }


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def frame_seeds(target, mask):
    # flags: bit0 streaming, bit1 auto_pong off, bit2 tiny limits, bit3 close
    # first; bits 5-7: number of read-size bytes that follow.
    layouts = {
        "whole": bytes([0x00]),
        "streaming-bytewise": bytes([0x21, 1]),
        "reads-3-7": bytes([0x40, 3, 7]),
        "tiny-limits-streaming": bytes([0x45, 5, 0x81]),
    }
    for name, data in frame_stream(mask).items():
        for lname, prefix in layouts.items():
            write(target, f"{name}-{lname}", prefix + data)


def request_seeds():
    rfc = (b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")
    browser = (b"GET /socket?room=1 HTTP/1.1\r\nHost: localhost:8080\r\nConnection: Upgrade\r\n"
               b"Pragma: no-cache\r\nCache-Control: no-cache\r\n"
               b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
               b"Chrome/120.0.0.0 Safari/537.36\r\nUpgrade: websocket\r\n"
               b"Origin: http://localhost:8080\r\nSec-WebSocket-Version: 13\r\n"
               b"Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n"
               b"Cookie: session=abc123\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
               b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
    plain = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"
    post = b"POST /form HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello"
    with_frames = browser + frame(0x1, b"Hi", mask=KEY)
    for name, data in [("rfc", rfc), ("browser", browser), ("plain-get", plain),
                       ("post-body", post), ("upgrade-then-frames", with_frames)]:
        write("handshake_request", name + "-whole", b"\0\xff\xff" + data)
        write("handshake_request", name + "-split", b"\0" + struct.pack(">H", len(data) // 2) + data)
    write("handshake_request", "rfc-tiny-limit", b"\x08\x00\x10" + rfc)


def response_seeds():
    key = base64.b64encode(bytes(range(1, 17)))
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    ok = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Accept: " + accept + b"\r\n")
    seeds = {
        "101": ok + b"\r\n",
        "101-chat": ok + b"Sec-WebSocket-Protocol: chat\r\n\r\n",
        "101-deflate": ok + b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n",
        "101-then-frames": ok + b"\r\n" + frame(0x1, b"Hello") + frame(0x9, b""),
        "101-bad-accept": ok.replace(accept, b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") + b"\r\n",
        "401": b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n",
        "302": b"HTTP/1.1 302 Found\r\nLocation: ws://example.com/other\r\n\r\n",
    }
    for name, data in seeds.items():
        write("handshake_response", name + "-whole", b"\0\xff\xff" + data)
        write("handshake_response", name + "-split", b"\0" + struct.pack(">H", len(data) // 3) + data)


def utf8_seeds():
    streams = {
        "mixed": "κόσμε – 中文 – 😀 mixed ascii \u007f\u0080\u07ff\u0800\uffff\U00010000\U0010ffff".encode(),
        "surrogate": "κόσμε".encode() + b"\xed\xa0\x80edited",
        "above-10ffff": "κόσμε".encode() + b"\xf4\x90\x80\x80edited",
        "overlongs": b"\xc0\x80\xe0\x80\x80\xf0\x80\x80\x80",
        "truncated": "abc€".encode()[:-1],
        "lone-continuation": b"x\x80y",
    }
    for name, s in streams.items():
        write("utf8", name + "-whole", b"\0" + s)
        cuts = [1, len(s) // 2, len(s) - 1]
        write("utf8", name + "-cuts", bytes([len(cuts)]) + b"".join(struct.pack(">H", c) for c in cuts) + s)


def raw_deflate(data):
    """data as a permessage-deflate sender compresses it (RFC 7692 7.2.1): raw
    DEFLATE, sync-flushed, without the trailing 00 00 ff ff."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\0\0\xff\xff")
    return out[:-4]


HELLO = bytes.fromhex("f248cdc9c90700")  # RFC 7692 7.2.3.1


def deflate_stream(mask):
    """RFC 7692 7.2.3's examples and hostile compressed messages, as frames."""
    k = KEY if mask else None

    def c(payload, opcode=0x1, fin=True):
        return frame(opcode, payload, fin=fin, mask=k, rsv1=True)

    return {
        "hello": c(HELLO),
        "fragmented-hello": c(HELLO[:3], fin=False) + frame(0x0, HELLO[3:], mask=k),
        "bfinal": c(bytes.fromhex("f348cdc9c9070000")),
        "stored": c(bytes.fromhex("000500faff48656c6c6f00")),
        "two-blocks": c(bytes.fromhex("f24805000000ffffcac9c90700")),
        # 7.2.3.2: the second message refers to the first (context takeover).
        "hello-twice": c(HELLO) + c(bytes.fromhex("f200110000")),
        "empty": c(b"\0", opcode=0x2),
        "ping-between-fragments": (c(HELLO[:2], fin=False) + frame(0x9, b"p", mask=k)
                                   + frame(0x0, HELLO[2:], mask=k)),
        "plain-then-compressed": frame(0x1, b"plain", mask=k) + c(HELLO),
        "bomb-1mib-zeros": c(raw_deflate(b"\0" * (1 << 20)), opcode=0x2),
        "bomb-text": c(raw_deflate(b"A" * (256 << 10))),
        "invalid-utf8": c(raw_deflate("κόσμε".encode() + b"\xed\xa0\x80" * 40)),
        "invalid-deflate": c(b"\xff\xff"),
        "rsv1-on-continuation": (c(HELLO[:3], fin=False)
                                 + frame(0x0, HELLO[3:], mask=k, rsv1=True)),
        "rsv1-on-ping": frame(0x9, b"p", mask=k, rsv1=True),
        "close-after": c(HELLO) + frame(0x8, struct.pack(">H", 1000), mask=k),
    }


def deflate_frame_seeds():
    # flags: bit0 client role, bit1 streaming, bit2 server_no_context_takeover,
    # bit3 client_no_context_takeover, bits 5-7 read-size count; then window
    # bits (low nibble server, high client, 8 + n % 8), max_message_size
    # (big-endian), max_frame_size / 64 - 1; then read sizes.
    layouts = {
        "whole": lambda role: bytes([role, 0x77, 0x10, 0x00, 0x3F]),
        "streaming-bytewise-nct": lambda role: bytes([role | 0x2E, 0x00, 0x10, 0x00, 0x3F, 1]),
        "limit-3-reads-3-7": lambda role: bytes([role | 0x40, 0x25, 0x00, 0x03, 0x3F, 3, 7]),
        "limit-1000-streaming": lambda role: bytes([role | 0x22, 0x77, 0x03, 0xE8, 0xFF, 0x81]),
        "limit-64k": lambda role: bytes([role, 0x77, 0xFF, 0xFF, 0xFF]),
    }
    # The server role receives masked frames, the client role unmasked ones.
    for role, mask, tag in [(0, True, "server"), (1, False, "client")]:
        for name, data in deflate_stream(mask).items():
            for lname, prefix in layouts.items():
                write("deflate_frames", f"{tag}-{name}-{lname}", prefix(role) + data)


def deflate_negotiation_seeds():
    # Bytes 0-1: the server's config (bit 7 of byte 0: build the value from
    # the bytes that follow), 2-3: the client's offer; then the value.
    defaults = bytes([0x00, 0x77, 0x00, 0x77])
    strict = bytes([0x03, 0x22, 0x03, 0x22])  # no context takeover, 10-bit windows
    raw = {
        "browser": b"permessage-deflate; client_max_window_bits",
        "browser-two": b"permessage-deflate; client_max_window_bits, x-webkit-deflate-frame",
        "all-four": (b"permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                     b"server_max_window_bits=10; client_max_window_bits=8"),
        "quoted": b'permessage-deflate; client_max_window_bits="10"',
        "leading-zero-then-valid": b"permessage-deflate; server_max_window_bits=08, permessage-deflate",
        "over-15": b"permessage-deflate; server_max_window_bits=16",
        "duplicate": b"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "unknown": b"permessage-deflate; x=1, permessage-deflate; client_max_window_bits=9",
        "answer-window-no-value": b"permessage-deflate; client_max_window_bits",
        "answer-server-10": b"permessage-deflate; server_max_window_bits=10; client_no_context_takeover",
        "twice": b"permessage-deflate, permessage-deflate",
        "mixed-case": b"PerMessage-Deflate; Server_Max_Window_Bits=9",
    }
    for name, value in raw.items():
        write("deflate_negotiation", name, defaults + value)
        write("deflate_negotiation", name + "-strict", strict + value)
    write("deflate_negotiation", "declines", bytes([0x04, 0x77, 0x04, 0x77]) + raw["browser"])
    # Built: permessage-deflate; server_max_window_bits=9 (2 | 2 << 3);
    # client_max_window_bits (3); then a second offer (6) with
    # server_no_context_takeover (0).
    write("deflate_negotiation", "built", bytes([0x80, 0x77, 0x00, 0x77, 0x12, 0x03, 0x06, 0x00]))


def roundtrip_seeds():
    # The structured target reads its input through `arbitrary`; any bytes
    # decode to some sequence of operations. These give it a head start.
    write("roundtrip", "text-and-ping", b"\x00\x01\x02" + "κόσμε 😀".encode() + b"\x03\x05Hello" * 8)
    write("roundtrip", "zeros", b"\0" * 64)
    write("roundtrip", "ramp", bytes(range(256)))
    # Input fields in order: sender_is_client, streaming, then Some(Deflate)
    # (flags, window bits, level, threshold), then the operations.
    deflate = b"\x01\x01\x01\x00\x01\x77\x06\x00"
    write("roundtrip", "deflate-text", deflate + ("Hello κόσμε " * 20).encode() + b"\x03\x05Hello" * 8)
    write("roundtrip", "deflate-nct-ramp", b"\x00\x00\x01\x01\x01\x00\x01\x10" + bytes(range(256)))


if __name__ == "__main__":
    frame_seeds("frame_server", mask=True)
    frame_seeds("frame_client", mask=False)
    request_seeds()
    response_seeds()
    utf8_seeds()
    roundtrip_seeds()
    deflate_frame_seeds()
    deflate_negotiation_seeds()
