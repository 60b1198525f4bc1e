#!/usr/bin/env python3
"""Re-create the relay_state seeds: corpus/relay_state/<sha1 of content>.

Usage: python3 fuzz/make_relay_seeds.py
       python3 fuzz/make_relay_seeds.py --decode FILE...   (print a script)

Each seed is a step script for fuzz/relay_state.c (its header comment
documents the layout): real TURN conversations that the harness plays
against one relay, building every request with the codec at run time (so
nonces and MESSAGE-INTEGRITY are right). Existing files are left alone;
the output is committed, so nothing needs this script at build or test
time. Standard library only.
"""
import hashlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "corpus", "relay_state")

# Template methods (p0 bits 0-2) and credentials (p0 bits 3-5).
ALLOC, REFRESH, PERM, CBIND, SEND, CDATA, BIND, ALLOC_TOKEN = range(8)
MD5, SHA256, SHA256_KEY_MI, REST, USERHASH, NOAUTH, WRONG, BOB = range(8)
# Lifetime choices (p2 bits 0-2): absent, 0, 1, 300, 600, 3600, 86400, max.
LT_NONE, LT_0, LT_1, LT_300, LT_600, LT_3600, LT_DAY, LT_MAX = range(8)
# Families (p2 bits 3-4): none, REQUESTED v4, REQUESTED v6, ADDITIONAL v6.
FAM_NONE, FAM_V4, FAM_V6, FAM_DUAL = range(4)
# Peers: 127.0.0.2:6000, 127.0.0.3:6001, [::1]:6002, 8.8.8.8:7003,
# [::ffff:127.0.0.2]:6000, 127.0.0.3:0 (port 0: a permission, no data),
# 127.0.0.1:50001 (another allocation's relayed address), [2a00:1450::1]:7007.
# Clients: 0, 1 UDP 198.51.100.1; 2, 3 TCP 198.51.100.2; 4 UDP and 5 TCP
# over IPv6; 6 TLS and 7 UDP on 203.0.113.5:40006.
OK, IN_USE, NO_FDS = 0, 1, 2


def header(flags=0, create_fail=0, seed=0x7E57):
    return bytes([flags, create_fail]) + seed.to_bytes(4, "big")


def op(kind, arg=0):
    return bytes([kind | arg << 4])


def advance(value, unit=2, tick=False):
    """Advance time by value * (1 ms, 10 ms, 1 s, 10 s)[unit]."""
    return op(0, unit | (4 if tick else 0)) + value.to_bytes(2, "big")


def tmpl(client, method, cred=MD5, peer=0, peer2=0, npeers=1, lifetime=LT_NONE,
         fam=FAM_NONE, even=0, df=False, channel=0, payload=b"", foreign=False,
         twist=False, tcp=False, nofp=False, resend=False):
    """A request built by the harness. even: 0 none, 1 REQUESTED-ADDRESS-FAMILY
    3 (no such family), 2 EVEN-PORT R=0, 3 R=1. Send and Binding take no
    credentials: cred WRONG / BOB make them a Send request / Data indication,
    a Binding success / Connect request."""
    p0 = method | cred << 3 | foreign << 6 | twist << 7
    p1 = peer | peer2 << 3 | (npeers - 1) << 6
    if method in (CBIND, CDATA):
        p2 = channel
    else:
        p2 = lifetime | fam << 3 | even << 5 | df << 7
    assert len(payload) < 64
    p3 = len(payload) | tcp << 6 | nofp << 7
    return op(2, client | resend << 3) + bytes([p0, p1, p2, p3]) + payload


def raw(client, data, tiny=False):
    return op(6, client | tiny << 3) + len(data).to_bytes(2, "big") + data


def peer(k, pick, payload):
    """Datagram from peer k to the pick-th socket the relay OPENed."""
    return op(7, k) + bytes([pick, len(payload)]) + payload


def answer(result=OK, which=0):
    return op(9, result | which << 2)


def tick(at_deadline=True):
    return op(11, 1 if at_deadline else 0)


def closed(client):
    return op(12, client)


def reconfigure(variant):
    return op(13) + bytes([variant])


def fail_alloc(n):
    return op(14, n)


def fail_entropy():
    return op(15)


def login(client, method=ALLOC, **kw):
    """First contact: an unauthenticated request that earns a NONCE."""
    return tmpl(client, method, NOAUTH, **kw)


def allocated(client, cred=MD5, **kw):
    """401, authenticated Allocate, the shell binds the socket."""
    return login(client) + tmpl(client, ALLOC, cred, **kw) + answer(OK)


SEEDS = {}


def seed(name):
    def register(fn):
        SEEDS[name] = fn
        return fn
    return register


@seed("basic-udp")
def _():
    """401 -> Allocate -> opened -> CreatePermission -> ChannelBind ->
    ChannelData both ways -> Send/Data -> Binding -> Refresh 0."""
    return (header() + allocated(0) + tmpl(0, PERM, peer=0) +
            tmpl(0, CBIND, peer=0, channel=0) + tmpl(0, CDATA, channel=0, payload=b"hello") +
            peer(0, 0, b"world") + tmpl(0, SEND, peer=3, payload=b"no permission yet") +
            tmpl(0, PERM, peer=3) + tmpl(0, SEND, peer=3, payload=b"to 8.8.8.8", df=True) +
            peer(3, 0, b"data indication") + peer(1, 0, b"not permitted") +
            tmpl(0, BIND) + tmpl(0, REFRESH, lifetime=LT_0))


@seed("tcp-sha256-closed")
def _():
    """TCP client with SHA-256 credentials; padded ChannelData; the
    connection closes and takes the allocation with it."""
    return (header() + allocated(2, SHA256, lifetime=LT_3600) +
            tmpl(2, CBIND, SHA256_KEY_MI, peer=1, channel=1) +
            tmpl(2, CDATA, channel=1, payload=b"odd") + peer(1, 0, b"12345") +
            tmpl(2, REFRESH, SHA256, lifetime=LT_600) + closed(2) + closed(0))


@seed("even-port-token")
def _():
    """EVEN-PORT R=1: two sockets bound, a RESERVATION-TOKEN returned and
    redeemed by another client."""
    return (header() + allocated(0, even=3) + answer(OK) + login(1) +
            tmpl(1, ALLOC_TOKEN, lifetime=LT_600) + tmpl(1, PERM, peer=0) +
            peer(0, 1, b"to the token allocation") + tmpl(1, REFRESH, lifetime=LT_0) +
            tmpl(0, REFRESH, lifetime=LT_0))


@seed("even-port-r0")
def _():
    return header() + allocated(3, even=2, df=True) + tmpl(3, BIND)


@seed("dual-stack")
def _():
    """ADDITIONAL-ADDRESS-FAMILY: IPv4 and IPv6 relayed addresses; one family
    refreshed to 0 alone."""
    return (header() + allocated(4, fam=FAM_DUAL) + answer(OK) +
            tmpl(4, PERM, peer=2, peer2=0, npeers=2) + tmpl(4, CBIND, peer=7, channel=2) +
            tmpl(4, SEND, peer=2, payload=b"v6") + tmpl(4, CDATA, channel=2, payload=b"c") +
            peer(2, 1, b"from ::1") + peer(0, 0, b"from v4") +
            tmpl(4, REFRESH, lifetime=LT_0, fam=FAM_V6) + tmpl(4, SEND, peer=2, payload=b"x") +
            peer(0, 0, b"still v4") + tmpl(4, REFRESH, lifetime=LT_600, fam=FAM_V4))


@seed("ipv6-only")
def _():
    return (header() + allocated(5, fam=FAM_V6) + tmpl(5, PERM, peer=7) +
            tmpl(5, SEND, peer=7, payload=b"v6 only") + peer(7, 0, b"back") +
            tmpl(5, PERM, peer=0))


@seed("expiry")
def _():
    """Permission, channel and allocation lifetimes run out on ticks."""
    return (header() + allocated(0, lifetime=LT_600) + tmpl(0, CBIND, peer=0, channel=3) +
            advance(200) + tmpl(0, CDATA, channel=3, payload=b"alive") + advance(101) +
            tick() + tmpl(0, CDATA, channel=3, payload=b"perm gone") + tick() + tick() +
            tmpl(0, REFRESH, lifetime=LT_NONE) + tick() + tick() + tick() + tick())


@seed("nonce-expiry-and-creds")
def _():
    """Stale nonce (438), REST, USERHASH, wrong password, key-only user."""
    return (header() + login(0) + advance(601) + tmpl(0, ALLOC) + tmpl(0, ALLOC, REST) +
            answer(OK) + tmpl(0, PERM, USERHASH, peer=1) + tmpl(0, PERM, WRONG, peer=0) +
            tmpl(0, PERM, BOB, peer=0) + tmpl(0, PERM, REST, peer=0, twist=True) +
            tmpl(0, PERM, MD5, peer=0, foreign=True) + tmpl(0, PERM, MD5, peer=0, twist=True))


@seed("quota-and-ports")
def _():
    """Seven clients ask; the total quota stops the seventh."""
    s = header()
    for k in range(7):
        s += login(k) + tmpl(k, ALLOC, even=3 if k % 2 else 0) + answer(OK) + answer(OK)
    return s + tmpl(0, PERM, peer=0)


@seed("open-failures")
def _():
    """The shell answers in use (another port is tried) and no descriptors."""
    return (header() + login(0) + tmpl(0, ALLOC) + answer(IN_USE) + answer(IN_USE) +
            answer(OK) + login(1) + tmpl(1, ALLOC) + answer(NO_FDS) + login(4) +
            tmpl(4, ALLOC, fam=FAM_DUAL) + answer(OK) + answer(NO_FDS))


@seed("pending-timeout")
def _():
    """An OPEN left unanswered past 30 s; the late answer gets a CLOSE."""
    return (header() + login(6) + tmpl(6, ALLOC) + advance(31) + tick() + answer(OK) +
            tmpl(6, ALLOC, resend=True))


@seed("retransmit")
def _():
    return (header() + login(7) + tmpl(7, ALLOC, lifetime=LT_MAX) + answer(OK) +
            tmpl(7, ALLOC, resend=True) + tmpl(7, ALLOC) + tmpl(7, REFRESH, lifetime=LT_DAY))


@seed("rfc5766-channels-maxbps")
def _():
    return (header(flags=0x03) + allocated(0) + tmpl(0, CBIND, peer=0, channel=5) +
            tmpl(0, CBIND, peer=1, channel=4) + tmpl(0, CBIND, peer=1, channel=6) +
            tmpl(0, CDATA, channel=5, payload=b"x" * 60) +
            tmpl(0, CDATA, channel=5, payload=b"y" * 60) + advance(1000, unit=0) +
            tmpl(0, CDATA, channel=5, payload=b"z" * 60))


@seed("what-clients-must-not-send")
def _():
    """Wrong classes and methods, conflicting families, a token with
    EVEN-PORT or a family, a permission for port 0, max-bps running dry."""
    s = (header(flags=0x02) + allocated(0) + tmpl(0, SEND, WRONG, peer=0, payload=b"req") +
         tmpl(0, SEND, BOB, peer=0, payload=b"data ind") + tmpl(0, BIND, WRONG) +
         tmpl(0, BIND, BOB) + login(1) + tmpl(1, ALLOC, even=1) +
         tmpl(1, ALLOC, fam=FAM_DUAL, even=1) + tmpl(1, ALLOC_TOKEN, fam=FAM_V4) +
         tmpl(0, PERM, peer=5) + tmpl(0, SEND, peer=5, payload=b"to port 0") +
         tmpl(0, CBIND, peer=5, channel=1) + tmpl(0, CBIND, peer=0, channel=0))
    return s + tmpl(0, CDATA, channel=0, payload=b"x" * 63) * 6


@seed("reconfigure-before-permissions")
def _():
    return (header() + allocated(0) + reconfigure(27 + 9 + 3) + reconfigure(255) +
            tmpl(0, REFRESH, REST) + reconfigure(0) + tmpl(0, REFRESH, BOB) +
            reconfigure(3) + tmpl(0, REFRESH, BOB))


@seed("failures")
def _():
    """Allocator and entropy failures inside Allocate, CreatePermission,
    reconfigure, and a create that fails first."""
    return (header(create_fail=2) + login(0) + fail_entropy() + tmpl(0, ALLOC) +
            tmpl(0, ALLOC) + answer(OK) + fail_alloc(0) + tmpl(0, PERM, peer=0) +
            fail_alloc(1) + reconfigure(1) + login(1) + fail_alloc(0) + tmpl(1, ALLOC))


@seed("raw-and-no-room")
def _():
    binding = bytes.fromhex("000100002112a442") + b"tern-raw-001"
    return (header(flags=0x40) + raw(0, binding, tiny=True) + raw(2, b"\x40\x00\x00\x01a") +
            raw(0, b"") + login(0) * 6 + raw(1, binding[:19]))


@seed("permission-cap-channelbind")
def _():
    """ChannelBind over the permission cap: 508, and no channel may stay
    bound (an early relay bound it before installing the permission)."""
    return (header() + allocated(4, fam=FAM_DUAL) + answer(OK) +
            tmpl(4, PERM, peer=0, peer2=1, npeers=2) + tmpl(4, PERM, peer=3, peer2=2, npeers=2) +
            tmpl(4, CBIND, peer=7, channel=0))


@seed("permission-cap-createpermission")
def _():
    """CreatePermission over the permission cap: 508, and none of its peers
    may be installed (an early relay kept those before the one that failed)."""
    return (header() + allocated(4, fam=FAM_DUAL) + answer(OK) +
            tmpl(4, PERM, peer=0, peer2=1, npeers=2) + tmpl(4, PERM, peer=3) +
            tmpl(4, PERM, peer=2, peer2=7, npeers=2))


@seed("even-port-twin-in-use")
def _():
    """EVEN-PORT R=1: the shell cannot bind port + 1 (an early relay freed
    the owner with the twin, then answered it: use after free)."""
    return header() + allocated(0, even=3) + answer(IN_USE) + tmpl(0, BIND)


# Reproducers of relay bugs the harness found, kept as regression inputs
# (corpus/README.md): corpus/relay_state/crash-<what>.
CRASHES = {}


def crash(name):
    def register(fn):
        CRASHES[name] = fn
        return fn
    return register


@crash("create-nomem-walks-uninitialised-slots")
def _():
    """The 3rd allocation of tern_relay_create fails: destroy frees the
    uninitialised slot array's 'allocations'."""
    return header(create_fail=3)


@crash("reconfigure-drops-all-permissions")
def _():
    """SIGHUP with an unchanged policy: purge_denied() checks permissions
    (port 0) with tern_peer_allowed(), which denies port 0."""
    return header() + allocated(0) + tmpl(0, PERM, peer=0) + reconfigure(0)


@crash("reconfigure-stale-channel-deadline")
def _():
    """SIGHUP denies a bound channel's peer: purge_denied() sets its expiry
    to 0 without rescheduling; the next reschedule (a Refresh) makes
    next_deadline() 300000, long before now."""
    return (header() + allocated(0) + tmpl(0, CBIND, peer=1, channel=0) + reconfigure(1) +
            tmpl(0, REFRESH, lifetime=LT_600))


@crash("reconfigure-same-policy-drops-relayed-peer-permission")
def _():
    """Policy without loopback: CreatePermission for 127.0.0.1:50001 (another
    allocation's relayed address, which the policy allows) succeeds; a
    SIGHUP with the very same config then drops it, because purge_denied()
    judges every permission at the stand-in port 9."""
    return (header() + reconfigure(2) + allocated(0) + tmpl(0, PERM, peer=6) + reconfigure(2))


def write(name, data):
    path = os.path.join(OUT, name)
    if os.path.exists(path):
        return 0
    with open(path, "wb") as f:
        f.write(data)
    return 1


METHODS = "Allocate Refresh CreatePermission ChannelBind Send ChannelData Binding Allocate+token".split()
CREDS = "md5 sha256 sha256-key/MI rest userhash none wrong-password bob".split()


def decode_template(b, i, client, resend):
    p = list(b[i:i + 4]) + [0] * (4 - len(b[i:i + 4]))
    plen = p[3] & 63
    peers = [p[1] & 7, p[1] >> 3 & 7, ((p[1] & 7) + (p[1] >> 3 & 7) + 1) & 7]
    text = (f"client {client} {'RESEND ' if resend else ''}{METHODS[p[0] & 7]} "
            f"cred={CREDS[p[0] >> 3 & 7]}{' foreign-nonce' if p[0] & 64 else ''}"
            f"{' twist' if p[0] & 128 else ''} peers={peers[:1 + (p[1] >> 6) % 3]} "
            f"p2={p[2]:#04x} (lifetime/channel {p[2] & 7}, fam {p[2] >> 3 & 3}, "
            f"even {p[2] >> 5 & 3}, df {p[2] >> 7}) payload={plen}"
            f"{' tcp' if p[3] & 64 else ''}{' nofp' if p[3] & 128 else ''}")
    return text, i + 4 + plen


def decode(b):
    """One line per step of a relay_state script (fuzz/relay_state.c)."""
    if len(b) < 6:
        return ["(shorter than the 6-byte header: ignored)"]
    out = [f"flags={b[0]:#04x} create_fail={b[1]} seed={b[2:6].hex()}"]
    i = 6
    while i < len(b) and len(out) <= 256:
        kind, arg = b[i] & 15, b[i] >> 4
        i += 1
        if kind <= 1:
            v = int.from_bytes(b[i:i + 2].ljust(2, b"\0"), "big")
            line = f"advance {v} x {[1, 10, 1000, 10000][arg & 3]} ms{' + tick' if arg & 4 else ''}"
            i += 2
        elif kind <= 5:
            line, i = decode_template(b, i, arg & 7, arg & 8)
        elif kind == 6:
            n = int.from_bytes(b[i:i + 2].ljust(2, b"\0"), "big")
            line = f"raw client {arg & 7}{' no-room-first' if arg & 8 else ''}: {b[i + 2:i + 2 + n].hex()}"
            i += 2 + n
        elif kind <= 8:
            n = b[i + 1] if i + 1 < len(b) else 0
            line = f"peer {arg & 7} -> handle pick {b[i] if i < len(b) else 0}: {n} bytes"
            i += 2 + n
        elif kind <= 10:
            line = f"answer OPEN #{arg >> 2}: {['ok', 'in use', 'no fds', 'ok'][arg & 3]}"
        elif kind == 11:
            line = "tick" + (" at next_deadline" if arg & 1 else "")
        elif kind == 12:
            line = f"client {arg & 7} closed"
        elif kind == 13:
            v = b[i] if i < len(b) else 0
            line = (f"reconfigure {v}: policy {v % 3} users {v // 3 % 3} secrets {v // 9 % 3} "
                    f"short-lifetimes {v // 27 % 2}" if v != 255 else "reconfigure: other realm")
            i += 1
        elif kind == 14:
            line = f"fail allocation +{arg + 1}"
        else:
            line = "fail next entropy"
        out.append(line)
    return out


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--decode":
        for path in sys.argv[2:]:
            with open(path, "rb") as f:
                print(f"== {path}\n" + "\n".join(decode(f.read())))
        return
    os.makedirs(OUT, exist_ok=True)
    made = 0
    for name, fn in SEEDS.items():
        data = fn()
        made += write(hashlib.sha1(data).hexdigest(), data)
        print(f"{hashlib.sha1(data).hexdigest()}  {name}")
    for name, fn in CRASHES.items():
        made += write("crash-" + name, fn())
        print(f"crash-{name}")
    print(f"{made} new seed(s) in {os.path.relpath(OUT, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
