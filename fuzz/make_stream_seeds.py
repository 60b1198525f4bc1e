#!/usr/bin/env python3
"""Seeds for the daemon's stream targets: corpus/conn_stream/, corpus/tls_input/.

Usage: python3 fuzz/make_stream_seeds.py [--tls-replay BIN]

conn_stream gets real STUN/ChannelData streams (the tests/vectors messages, and
hand-made frames: odd-length ChannelData padded to 4, a frame that makes the
buffer grow, a frame declaring the largest length) split in odd places, and
streams that must close (bad first bits, STUN Length not a multiple of 4, a
wrong magic cookie arriving after the rest of the header).

tls_input gets, in raw mode, real ClientHellos made by OpenSSL through
Python's ssl module and memory BIOs (TLS 1.3, TLS 1.2 only, with SNI and
ALPN), cut in odd places and followed by garbage, plus non-TLS openings
(a STUN request or HTTP on the TLS port, an SSLv2 hello, a bare alert); in
client mode, the streams above under each client profile, with raw tails
(garbage, an alert, an unencrypted application-data record). With
--tls-replay BIN (a replay build of fuzz_tls_input), each client-mode
session is also recorded (TERN_FUZZ_TLS_CAPTURE) as a raw-mode seed that
replays to the end of the handshake and through the application data.

Files are named by the SHA-1 of their content; existing files are left
alone. Standard library only (make_seeds.py's STUN helpers).
"""
import os
import ssl
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_seeds as ms  # noqa: E402

ROOT = ms.ROOT


def stun_frames():
    """Valid frames: the tests/vectors messages, padded ChannelData of odd lengths."""
    vdir = os.path.join(ROOT, "tests", "vectors")
    frames = []
    for name in sorted(os.listdir(vdir)):
        if not name.endswith(".hex") or "as-published" in name:
            continue
        raw = bytes.fromhex("".join(open(os.path.join(vdir, name)).read().split()))
        frames.append(ms.pad4(raw) if raw[0] >> 6 == 1 else raw)
    for n in (0, 1, 2, 3, 5, 100):
        frames.append(ms.pad4(struct.pack("!HH", 0x4000 + n, n) + bytes(range(n))))
    frames.append(ms.with_fp(ms.msg(0x0001, [ms.attr(0x8022, b"tern seed")])))
    return frames


def conn_inputs(frames):
    stream = b"".join(frames)
    big = ms.pad4(struct.pack("!HH", 0x4001, 3001) + b"\xab" * 3001)  # grows the buffer
    res = []
    for chunks, scale in (([1], 1), ([3], 1), ([7, 1, 13], 1), ([2, 5, 11, 17, 19, 23], 1),
                          ([256], 8), ([20, 4], 1), ([64, 1, 1, 1], 1), ([256], 32)):
        res.append(ms.framer_input(chunks, scale, stream))
    res.append(ms.framer_input([5, 200], 4, frames[0] + big + frames[1] + big))
    res.append(ms.framer_input([256], 32, big + big[:1500]))
    # the largest STUN Length: the buffer grows to TERND_STREAM_MAX; never completes
    res.append(ms.framer_input([4, 256], 16,
                               ms.header(0x0001, 65532) + b"\0" * 3000))
    res.append(ms.framer_input([4, 256], 16,
                               struct.pack("!HH", 0x7FFF, 0xFFFF) + b"\0" * 3000))
    # streams that must close
    res.append(ms.framer_input([3], 1, frames[0] + b"\x80\x00\x00\x04ABCD"))
    res.append(ms.framer_input([4, 1, 1, 1, 1], 1, frames[0] + ms.header(0x0001, 6)))
    res.append(ms.framer_input([4, 4, 30], 1,
                               frames[1] + ms.header(0x0001, 8, cookie=0x2112A443) + b"\0" * 8))
    res.append(ms.framer_input([6], 1, frames[0] + frames[1][:6]))  # tail too short to judge
    for f in frames:
        res.append(ms.framer_input([4], 1, f))
    return res


# ------------------------------------------------------------------ TLS


def client_hello(max_version=None, sni=None, alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if max_version is not None:
        ctx.maximum_version = max_version
    if alpn:
        ctx.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def tls_header(mode, profile, chunks, shift):
    """Layout of tls_input: m | p << 1 | c << 3 | s << 6, c + 1 chunk bytes."""
    assert 1 <= len(chunks) <= 8 and 0 <= shift <= 3 and 0 <= profile <= 3
    b0 = mode | profile << 1 | (len(chunks) - 1) << 3 | shift << 6
    return bytes([b0] + [c - 1 for c in chunks])


def tls_raw_inputs(frames):
    hellos = [client_hello(), client_hello(ssl.TLSVersion.TLSv1_2),
              client_hello(sni="turn.example.org", alpn=["stun.turn", "stun.nat-discovery"]),
              client_hello(ssl.TLSVersion.TLSv1_2, sni="turn.example.org")]
    res = []
    for h in hellos:
        res.append(tls_header(0, 0, [256], 3) + h)
        res.append(tls_header(0, 0, [1, 4, 5, 60], 0) + h)
        res.append(tls_header(0, 0, [9], 0) + h + b"\x16\x03\x03\x00\x04garbage")
        res.append(tls_header(0, 0, [256], 3) + h[:len(h) // 2])
        res.append(tls_header(0, 0, [256], 3) + h + frames[0])  # plaintext STUN after it
    alert = b"\x15\x03\x03\x00\x02\x02\x28"
    res.append(tls_header(0, 0, [256], 3) + alert)
    res.append(tls_header(0, 0, [5], 0) + frames[0])                  # STUN on the TLS port
    res.append(tls_header(0, 0, [256], 3) + b"GET / HTTP/1.1\r\nHost: turn\r\n\r\n")
    res.append(tls_header(0, 0, [256], 3) +
               b"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10" + bytes(range(37)))  # SSLv2
    res.append(tls_header(0, 0, [256], 3) + b"\x16\x03\x01\xff\xff" + b"\x01" * 64)
    return res


def tls_client_inputs(frames):
    """(seed, capture-worthy) pairs in client mode."""
    stream = b"".join(frames)
    res = []
    for profile in range(4):
        for chunks, shift in (([256], 3), ([7, 1, 13], 0), ([100, 3], 1)):
            body = struct.pack("!H", len(stream)) + stream
            res.append((tls_header(1, profile, chunks, shift) + body, True))
        tails = [b"\xff" * 20, b"\x15\x03\x03\x00\x02\x01\x00",
                 b"\x17\x03\x03\x00\x08" + b"\x00\x01\x00\x00" + b"\x21\x12\xa4\x42"]
        for tail in tails:
            body = struct.pack("!H", len(frames[0])) + frames[0] + tail
            res.append((tls_header(1, profile, [64], 0) + body, False))
        # a malformed frame under TLS: the stream closes the connection
        bad = frames[0] + b"\xc0\x00\x00\x00"
        res.append((tls_header(1, profile, [256], 0) + struct.pack("!H", len(bad)) + bad, False))
    return res


def capture(binary, seed):
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, "in"), os.path.join(tmp, "out")
        with open(inp, "wb") as f:
            f.write(seed)
        env = dict(os.environ, TERN_FUZZ_TLS_CAPTURE=out)
        subprocess.run([binary, inp], env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(out, "rb") as f:
            return f.read()


def main():
    binary = None
    if len(sys.argv) == 3 and sys.argv[1] == "--tls-replay":
        binary = sys.argv[2]
    elif len(sys.argv) != 1:
        sys.exit(__doc__)
    frames = stun_frames()
    written = {}
    for m in conn_inputs(frames):
        ms.sha1_write("conn_stream", m, written)
    for m in tls_raw_inputs(frames):
        ms.sha1_write("tls_input", m, written)
    for m, worth in tls_client_inputs(frames):
        ms.sha1_write("tls_input", m, written)
        if binary is not None and worth:
            ms.sha1_write("tls_input", capture(binary, m), written)
    for t in sorted(written):
        print("corpus/%s: %d seeds" % (t, written[t]))


if __name__ == "__main__":
    main()
