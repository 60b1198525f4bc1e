#!/usr/bin/env python3
"""Re-create the fuzz seed corpus: corpus/<target>/<sha1 of content>.

Usage: python3 fuzz/make_seeds.py [VECTOR_DIR]

VECTOR_DIR holds the RFC/constructed vectors (*.hex, vectors.json); default
tests/vectors, else ../shared/vectors. Seeds come from every vector (in each
target's input layout) plus hand-made cases for rules the vectors do not
reach. Existing files are left alone (libFuzzer-found seeds and crash-*
reproducers stay); the output is committed, so nothing needs this script at
build or test time. Standard library only.
"""
import hashlib
import hmac
import json
import os
import struct
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COOKIE = 0x2112A442
TXID = b"tern-fuzz-01"
KEY = b"tern"

# ------------------------------------------------------------ STUN helpers


def attr(atype, value, pad=b"\x00", length=None):
    """One attribute: header, value, padding (pad byte repeated)."""
    n = len(value) if length is None else length
    padding = pad * ((4 - len(value) % 4) % 4)
    return struct.pack("!HH", atype, n) + value + padding


def header(mtype, body_len, txid=TXID, cookie=COOKIE):
    return struct.pack("!HHI", mtype, body_len, cookie) + txid


def msg(mtype, attrs, txid=TXID):
    body = b"".join(attrs)
    return header(mtype, len(body), txid) + body


def with_mi(m, key, sha256=False, mac_len=32):
    """Append MESSAGE-INTEGRITY(-SHA256) over m (RFC 8489 section 14.5/14.6)."""
    atype, n = (0x001C, mac_len) if sha256 else (0x0008, 20)
    body_len = len(m) - 20 + 4 + n
    pre = m[:2] + struct.pack("!H", body_len) + m[4:]
    mac = hmac.new(key, pre, hashlib.sha256 if sha256 else hashlib.sha1).digest()[:n]
    return pre + attr(atype, mac)


def with_fp(m):
    """Append FINGERPRINT (RFC 8489 section 14.7)."""
    pre = m[:2] + struct.pack("!H", len(m) - 20 + 8) + m[4:]
    crc = (zlib.crc32(pre) ^ 0x5354554E) & 0xFFFFFFFF
    return pre + attr(0x8028, struct.pack("!I", crc))


def with_attrs(m, attrs):
    """Append raw attributes, fixing the header Length."""
    body = m[20:] + b"".join(attrs)
    return m[:2] + struct.pack("!H", len(body)) + m[4:20] + body


def xor_v4(port, ip):
    return struct.pack("!BBH4s", 0, 1, port ^ 0x2112,
                       bytes(a ^ b for a, b in zip(ip, struct.pack("!I", COOKIE))))


def xor_v6(port, ip, txid=TXID):
    mask = struct.pack("!I", COOKIE) + txid
    return struct.pack("!BBH", 0, 2, port ^ 0x2112) + bytes(a ^ b for a, b in zip(ip, mask))


BINDING_REQ, ALLOCATE_REQ, ALLOCATE_ERR = 0x0001, 0x0003, 0x0113
CREATE_PERM_REQ, SEND_IND = 0x0008, 0x0016

# ------------------------------------------------------ hand-made messages


def stun_handmade():
    """(description, bytes) pairs for stun_decode/stun_roundtrip."""
    s = []
    # libre's phantom attribute: an over-long fixed-size attribute whose tail
    # looks like another attribute header (STYLE.md rule 8).
    s.append(("phantom LIFETIME len 12, tail = SOFTWARE header",
              msg(BINDING_REQ, [attr(0x000D, b"\x00\x00\x0e\x10" + b"\x80\x22\x00\x04phan")])))
    s.append(("phantom REQUESTED-TRANSPORT len 8, tail = USERNAME header",
              msg(ALLOCATE_REQ, [attr(0x0019, b"\x11\x00\x00\x00" + b"\x00\x06\x00\x00")])))
    s.append(("phantom XOR-MAPPED-ADDRESS len 16, tail = MI header",
              msg(0x0101, [attr(0x0020, xor_v4(32853, bytes([192, 0, 2, 1])) +
                                b"\x00\x08\x00\x14")])))
    # Attributes after MESSAGE-INTEGRITY are ignored except MI-SHA256, FP.
    base = msg(BINDING_REQ, [attr(0x0006, b"alice")])
    after = with_attrs(with_mi(base, KEY), [attr(0x8022, b"after MI"), attr(0x000D, b"\0\0\0\x3c"),
                                            attr(0x0033, b"unknown"), attr(0x0008, b"\1" * 20)])
    s.append(("attributes after MI, then FP", with_fp(after)))
    s.append(("attributes after MI, no FP", after))
    s.append(("MI, MI-SHA256, FP", with_fp(with_mi(with_mi(base, KEY), KEY, True))))
    s.append(("MI-SHA256 truncated to 16, attrs after, FP",
              with_fp(with_attrs(with_mi(base, KEY, True, 16), [attr(0x8022, b"ignored")]))))
    s.append(("MI-SHA256 then MI", with_mi(with_mi(base, KEY, True), KEY)))
    s.append(("FP not last", with_attrs(with_fp(base), [attr(0x8022, b"late")])))
    s.append(("two FINGERPRINTs", with_fp(with_fp(base))))
    s.append(("unknown comprehension-required and optional types",
              msg(BINDING_REQ, [attr(0x0033, b"x"), attr(0x7FFF, b""), attr(0xC001, b"opt"),
                                attr(0x0002, b"\0\1\0\0")])))
    s.append(("nine unknown comprehension-required types",
              msg(BINDING_REQ, [attr(0x0040 + i, b"") for i in range(9)])))
    s.append(("duplicates: two XOR-PEER-ADDRESS, two SOFTWARE",
              msg(CREATE_PERM_REQ, [attr(0x0012, xor_v4(60000, bytes([198, 51, 100, 2]))),
                                    attr(0x8022, b"one"),
                                    attr(0x0012, xor_v6(60001, bytes(range(16)))),
                                    attr(0x8022, b"two")])))
    s.append(("40 attributes", msg(BINDING_REQ, [attr(0x001A, b"")] * 40)))
    s.append(("41 attributes", msg(BINDING_REQ, [attr(0x001A, b"")] * 41)))
    s.append(("string padding not zero", msg(BINDING_REQ, [attr(0x0006, b"bob", b"\x20")])))
    s.append(("MAPPED-ADDRESS reserved byte set, IPv6 OTHER-ADDRESS",
              msg(0x0101, [attr(0x0001, b"\xff\x01\x0d\x96\xc0\x00\x02\x01"),
                           attr(0x802C, b"\x00\x02\x0d\x97" + bytes(range(16)))])))
    s.append(("error codes: empty reason, ADDRESS-ERROR-CODE, UNKNOWN-ATTRIBUTES",
              msg(ALLOCATE_ERR, [attr(0x0009, b"\x00\x00\x04\x14"),
                                 attr(0x000A, b"\x00\x33\x7f\xff\x00\x02"),
                                 attr(0x8001, b"\x02\x00\x04\x40Address Family not Supported")])))
    s.append(("ERROR-CODE class 7", msg(ALLOCATE_ERR, [attr(0x0009, b"\x00\x00\x07\x00bad")])))
    s.append(("ERROR-CODE number 100", msg(ALLOCATE_ERR, [attr(0x0009, b"\x00\x00\x04\x64x")])))
    s.append(("TURN attributes", msg(ALLOCATE_REQ, [
        attr(0x0019, b"\x06\x00\x00\x00"), attr(0x0017, b"\x02\x00\x00\x00"),
        attr(0x8000, b"\x02\x00\x00\x00"), attr(0x0018, b"\x80"),
        attr(0x0022, b"resvtokn"), attr(0x000C, b"\x4f\xff\x00\x00"),
        attr(0x000D, b"\x00\x00\x0e\x10"), attr(0x001A, b""), attr(0x002A, b"\0\0\0\7"),
        attr(0x8004, b"\x00\x00\x03\x01\x00\x00\x05\xdc"),
        attr(0x0013, b"payload"), attr(0x0016, xor_v4(49152, bytes([203, 0, 113, 5])))])))
    s.append(("ICE and RFC 5780 attributes", msg(BINDING_REQ, [
        attr(0x0024, b"\x6e\x00\x01\xff"), attr(0x0025, b""), attr(0x802A, b"tiebreak"),
        attr(0x8029, b"tiebrk2!"), attr(0x0003, b"\x00\x00\x00\x06"),
        attr(0x0027, b"\x0d\x96\x00\x00"), attr(0x0026, b"\0" * 7),
        attr(0x8027, b"\x00\x00\x00\x3c"), attr(0x802B, b"\x00\x01\x0d\x96\xc0\x00\x02\x01"),
        attr(0x8023, b"\x00\x01\x0d\x96\xc0\x00\x02\x02"), attr(0x8003, b"turn.example.org")])))
    s.append(("auth attributes", msg(BINDING_REQ, [
        attr(0x001E, bytes(range(32))), attr(0x001D, b"\x00\x02\x00\x00"),
        attr(0x8002, b"\x00\x01\x00\x00\x00\x02\x00\x00"),
        attr(0x8002, b"\x00\x03\x00\x02\xaa\xbb\x00\x00"), attr(0x001B, b"\x00\x04tokn\x00\x00"),
        attr(0x802E, b"https://as.example.org"), attr(0x8030, b"mobility-ticket"),
        attr(0x0015, b"obMatJos2AAAD" + b"nonce")])))
    s.append(("USERNAME of 763 bytes", msg(BINDING_REQ, [attr(0x0006, b"u" * 763)])))
    s.append(("USERNAME of 764 bytes", msg(BINDING_REQ, [attr(0x0006, b"u" * 764)])))
    s.append(("USERNAME not UTF-8", msg(BINDING_REQ, [attr(0x0006, b"\xc3\x28\xff")])))
    s.append(("attribute length past the end",
              header(BINDING_REQ, 8) + struct.pack("!HH", 0x0006, 9) + b"abcd"))
    s.append(("last attribute without padding",
              header(BINDING_REQ, 7) + struct.pack("!HH", 0x0006, 3) + b"abc"))
    s.append(("header only", header(BINDING_REQ, 0)))
    s.append(("Length not a multiple of 4", header(BINDING_REQ, 2) + b"\0\0"))
    s.append(("Length larger than the datagram", header(BINDING_REQ, 8)))
    s.append(("top bits set", struct.pack("!HHI", 0xC001, 0, COOKIE) + TXID))
    s.append(("wrong magic cookie", header(BINDING_REQ, 0, cookie=0x2112A443)))
    s.append(("19 bytes", header(BINDING_REQ, 0)[:19]))
    # Attribute offsets above 65535 (struct tern_attr.offset is 16 bits).
    big = msg(SEND_IND, [attr(0x0013, b"\xab" * 65512), attr(0x000D, b"\0\0\0\x3c")])
    s.append(("attribute at offset 65536", with_fp(big)))
    return s


# ------------------------------------------------------------ other layouts


def channel_handmade():
    return [
        struct.pack("!HH", 0x7FFF, 0),
        struct.pack("!HH", 0x4FFF, 1) + b"x\0\0\0",
        struct.pack("!HH", 0x4001, 5) + b"hello\0\0",      # datagram, partial padding
        struct.pack("!HH", 0x4001, 5) + b"hello\0\0\0\0",  # more than 3 extra
        struct.pack("!HH", 0x8000, 4) + b"ping",
        struct.pack("!HH", 0x3FFF, 4) + b"ping",
        struct.pack("!HH", 0x4000, 8) + b"short",
        struct.pack("!HH", 0x4000, 0xFFFF) + b"\0" * 16,
        b"\x40\x00\x00",
    ]


def other_datagrams():
    """Not STUN: each RFC 7983 demultiplexing range, and nothing at all."""
    return [b"", b"\x10\x00\x00\x00ZRTP", b"\x16\xfe\xfd\x00", b"\x80\x00\x00\x01",
            b"\x40\x00\x00\x00", b"\x7f\xff\x00\x00", b"\xc0", b"\x04\x00\x00\x00"]


def framer_input(chunks, scale, stream):
    """Layout of stream_framer: c | s << 3, c + 1 chunk bytes, the stream."""
    assert 1 <= len(chunks) <= 8 and 1 <= scale <= 32
    b0 = (len(chunks) - 1) | (scale - 1) << 3
    return bytes([b0] + [c - 1 for c in chunks]) + stream


def pad4(b):
    return b + b"\0" * ((4 - len(b) % 4) % 4)


# ------------------------------------------------------------------ output


def sha1_write(target, data, written):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    path = os.path.join(d, name)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    written[target] = written.get(target, 0) + 1


def load_vectors(vdir):
    meta = json.load(open(os.path.join(vdir, "vectors.json")))
    out = []
    for v in meta["vectors"]:
        raw = bytes.fromhex("".join(open(os.path.join(vdir, v["file"])).read().split()))
        cred = v.get("credentials") or {}
        key = bytes.fromhex(cred["key_hex"]) if cred.get("key_hex") else b""
        pw = cred.get("password_prepared")
        pw = pw.encode() if pw else None
        out.append((v, raw, key, pw))
    return out


def integrity_inputs(vectors, handmade):
    """stun_integrity layout: key length byte, key, message."""
    res = []
    for v, raw, key, pw in vectors:
        res.append(bytes([len(key)]) + key + raw)
        res.append(b"\x00" + raw)
        if pw is not None:
            res.append(bytes([len(pw)]) + pw + raw)
    for _, m in handmade:
        if len(m) < 4096:
            res.append(bytes([len(KEY)]) + KEY + m)
    for text in [b"obMatJos2AAAC", b"obMatJos2AAAB/nonce", b"obMatJos2////", b"obMatJos2AA=",
                 b"aGVsbG8=", b"aGVsbA==", b"aGVsbG9=", b"YQ", b"====", b""]:
        res.append(b"\x04" + b"salt" + text)
    res.append(bytes([255]) + bytes(range(255)) + b"max key")
    return res


def framer_inputs(vectors):
    frames = [raw for v, raw, _, _ in vectors if v["kind"] == "stun" and v["valid"]]
    frames += [raw for v, raw, _, _ in vectors if v["kind"] == "channeldata"
               and len(raw) % 4 == 0]
    stream = b"".join(frames)
    res = [framer_input([1], 1, stream), framer_input([7, 13, 64], 1, stream),
           framer_input([256], 32, stream), framer_input([3, 1, 2], 1, stream)]
    for f in frames:
        res.append(framer_input([4], 1, f))
    udp = [raw for v, raw, _, _ in vectors if v["id"] == "turn-channeldata-udp"]
    res.append(framer_input([5], 1, frames[0] + pad4(udp[0]) + frames[1]))
    res.append(framer_input([9], 1, udp[0] + frames[0]))            # unpadded: misframed
    res.append(framer_input([2], 1, frames[0] + b"\xff" * 12))      # garbage: close
    res.append(framer_input([6], 1, frames[0] + frames[1][:7] + b"\x00" * 13))  # bad cookie
    return res


def main():
    vdir = sys.argv[1] if len(sys.argv) > 1 else None
    if vdir is None:
        for cand in (os.path.join(ROOT, "tests", "vectors"),
                     os.path.join(ROOT, "..", "shared", "vectors")):
            if os.path.exists(os.path.join(cand, "vectors.json")):
                vdir = cand
                break
    if vdir is None:
        sys.exit("make_seeds.py: no vector directory (give one as the argument)")
    vectors = load_vectors(vdir)
    handmade = stun_handmade()
    written = {}
    for _, raw, _, _ in vectors:
        for t in ("stun_decode", "stun_roundtrip", "channel_data"):
            sha1_write(t, raw, written)
    for _, m in handmade:
        for t in ("stun_decode", "stun_roundtrip"):
            sha1_write(t, m, written)
    for m in other_datagrams():
        sha1_write("stun_decode", m, written)
    for m in channel_handmade():
        sha1_write("channel_data", m, written)
    for m in integrity_inputs(vectors, handmade):
        sha1_write("stun_integrity", m, written)
    for m in framer_inputs(vectors):
        sha1_write("stream_framer", m, written)
    for t in sorted(written):
        print("corpus/%s: %d seeds" % (t, written[t]))


if __name__ == "__main__":
    main()
