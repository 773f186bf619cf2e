#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A stand-in for fxd's HTTP + WebSocket side, for working on the browser
page (clients/web/fxd.html) without JACK: development only, not shipped and
not run by `make check`.

It serves the page (GET / with Accept: text/html, or /ui), an OSCQuery tree
(GET /, GET /path, GET /?HOST_INFO), the WebSocket on / (LISTEN/IGNORE,
binary OSC both ways, PATH_CHANGED after a chain load), /fxd/meters,
/fxd/stats and /fxd/counters for listeners, and a UDP OSC port that answers
what fxctl asks (set, get, load, chain, preset, sync, info, ping), so
tests/integration/test_browser.py runs against it as against fxd:

    /usr/bin/python3 clients/web/mock_fxd.py --http-port 0 --osc-port 0
    # prints: mock-fxd: ready: osc udp 127.0.0.1:P, http 127.0.0.1:H
"""
import argparse
import asyncio
import base64
import hashlib
import json
import math
import os
import re
import struct
import sys
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# name: [(param, unit, min, max, default, scale, labels)]
FILTER = [("cutoff", "Hz", 20, 20000, 1000, "log", None),
          ("q", "", 0.1, 20, 0.7071, "log", None),
          ("order", "", 1, 16, 2, "lin", None)]
EFFECTS = {
    "gain": [("db", "dB", -96, 24, 0, "dB", None)],
    "lowpass": FILTER, "highpass": FILTER,
    "peaking": [("cutoff", "Hz", 20, 20000, 1000, "log", None),
                ("q", "", 0.1, 20, 0.7071, "log", None),
                ("gain", "dB", -24, 24, 0, "dB", None)],
    "compressor": [("threshold", "dB", -60, 0, -18, "dB", None),
                   ("ratio", "", 1, 20, 3, "log", None),
                   ("attack", "ms", 0.1, 200, 10, "log", None),
                   ("release", "ms", 5, 2000, 100, "log", None),
                   ("makeup", "dB", 0, 24, 0, "dB", None)],
    "delay": [("time", "ms", 1, 2000, 350, "log", None),
              ("feedback", "", 0, 0.95, 0.3, "lin", None),
              ("mix", "", 0, 1, 0.5, "lin", None),
              ("division", "", 0, 6, 0, "enum",
               ["off", "1/1", "1/2", "1/4", "1/8", "1/16", "1/32"])],
    "reverb": [("room", "", 0, 1, 0.5, "lin", None),
               ("damp", "", 0, 1, 0.5, "lin", None),
               ("width", "", 0, 1, 1, "lin", None),
               ("mix", "", 0, 1, 0.25, "lin", None)],
}
DEFAULT_CHAIN = ("hpf:highpass cutoff=80 order=2 | eq:peaking cutoff=1000 "
                 "q=0.7 gain=0 | comp:compressor threshold=-18 ratio=3 | "
                 "dly:delay time=350 feedback=0.3 mix=0 | verb:reverb "
                 "room=0.4 mix=0.15 | vol:gain db=0")


# ---- OSC ------------------------------------------------------------------
def osc_str(s):
    b = s.encode() + b"\0"
    return b + b"\0" * (-len(b) % 4)


def osc_msg(addr, types="", *args):
    out = osc_str(addr) + osc_str("," + types)
    for t, a in zip(types, args):
        if t == "f":
            out += struct.pack(">f", a)
        elif t == "i":
            out += struct.pack(">i", int(a))
        elif t == "d":
            out += struct.pack(">d", a)
        elif t == "s":
            out += osc_str(a)
    return out


def osc_parse(data):
    def string(o):
        e = data.index(b"\0", o)
        return data[o:e].decode(), (e + 4) & ~3
    addr, o = string(0)
    types, o = string(o) if o < len(data) else (",", o)
    args = []
    for t in types[1:]:
        if t in "fi":
            args.append(struct.unpack_from(">" + t, data, o)[0])
            o += 4
        elif t in "dh":
            args.append(struct.unpack_from(">" + ("d" if t == "d" else "q"),
                                           data, o)[0])
            o += 8
        elif t in "sS":
            s, o = string(o)
            args.append(s)
        elif t in "TF":
            args.append(t == "T")
        else:
            raise ValueError("type " + t)
    return addr, types[1:], args


# ---- the model --------------------------------------------------------------
class Slot:
    def __init__(self, label, effect, values):
        self.label, self.effect = label, effect
        self.params = {p[0]: p for p in EFFECTS[effect]}
        self.values = {p[0]: p[4] for p in EFFECTS[effect]}
        self.bypass = False
        for k, v in values.items():
            p = self.params[k]
            self.values[k] = p[6].index(v) if p[6] and v in p[6] else float(v)


def parse_chain(text):
    slots = []
    for i, part in enumerate(p.strip() for p in text.split("|")):
        words = part.split()
        if not words:
            raise ValueError("empty slot")
        head = words[0]
        label, effect = head.split(":", 1) if ":" in head else (str(i), head)
        if effect not in EFFECTS:
            raise ValueError("unknown effect '%s'" % effect)
        values = dict(w.split("=", 1) for w in words[1:])
        for k in values:
            if k not in (p[0] for p in EFFECTS[effect]):
                raise ValueError("no parameter '%s' in %s" % (k, effect))
        slots.append(Slot(label, effect, values))
    return slots


def fmt_num(v):
    return ("%.6g" % v) if v != int(v) else str(int(v))


class Mock:
    def __init__(self, chain, name):
        self.name = name
        self.slots = parse_chain(chain)
        self.mute = 0
        self.bpm = 120.0
        self.presets = {}
        self.clients = []   # WebSocket writers with .listen sets
        self.udp = None
        self.osc_port = self.http_port = 0
        self.counters = {"xruns": 0, "underflows": 0, "late": 0,
                         "nonfinite": 0, "overflows": 0}

    def chain_text(self):
        out = []
        for s in self.slots:
            kv = []
            for k, p in s.params.items():
                v = s.values[k]
                kv.append("%s=%s" % (k, p[6][int(v)] if p[6] else fmt_num(v)))
            out.append("%s:%s %s" % (s.label, s.effect, " ".join(kv)))
        return " | ".join(out)

    def find(self, path):
        m = re.fullmatch(r"/fx/([^/]+)/([^/]+)", path)
        if not m:
            return None, None
        for i, s in enumerate(self.slots):
            if m.group(1) in (s.label, str(i)):
                if m.group(2) == "bypass" or m.group(2) in s.params:
                    return s, m.group(2)
        return None, None

    # -- the tree --
    def node(self, s, i):
        base = "/fx/" + s.label
        kids = {}
        for k, p in s.params.items():
            name, unit, lo, hi, de, scale, labels = p
            v = s.values[k]
            n = {"FULL_PATH": base + "/" + k, "ACCESS": 3, "UNIT": unit,
                 "CLIPMODE": "both", "DESCRIPTION": "%s's %s" % (s.effect, k),
                 "FXD_SCALE": scale, "FXD_DEFAULT": de}
            if labels:
                n.update(TYPE="s", VALUE=[labels[int(v)]],
                         RANGE=[{"VALS": labels}],
                         FXD_DEFAULT=labels[int(de)])
            else:
                n.update(TYPE="i" if k == "order" else "f", VALUE=[v],
                         RANGE=[{"MIN": lo, "MAX": hi}])
                norm = self.norm(p, v)
                n["CONTENTS"] = {"norm": {
                    "FULL_PATH": base + "/" + k + "/norm", "TYPE": "f",
                    "RANGE": [{"MIN": 0, "MAX": 1}], "VALUE": [norm],
                    "ACCESS": 3}}
            kids[k] = n
        kids["bypass"] = {"FULL_PATH": base + "/bypass", "TYPE": "T",
                          "VALUE": [s.bypass], "ACCESS": 3,
                          "FXD_SCALE": "toggle",
                          "DESCRIPTION": "bypass (a crossfade)"}
        return {"FULL_PATH": base, "FXD_INDEX": i, "FXD_EFFECT": s.effect,
                "DESCRIPTION": s.effect, "CONTENTS": kids}

    @staticmethod
    def norm(p, v):
        lo, hi = p[2], p[3]
        if p[5] == "log":
            return math.log(v / lo) / math.log(hi / lo)
        return (v - lo) / (hi - lo)

    def tree(self):
        fx = {s.label: self.node(s, i) for i, s in enumerate(self.slots)}
        fxd = {
            "mute": {"FULL_PATH": "/fxd/mute", "TYPE": "i", "ACCESS": 3,
                     "VALUE": [self.mute], "RANGE": [{"MIN": 0, "MAX": 1}]},
            "bpm": {"FULL_PATH": "/fxd/bpm", "TYPE": "f", "ACCESS": 3,
                    "VALUE": [self.bpm], "RANGE": [{"MIN": 20, "MAX": 300}]},
            "panic": {"FULL_PATH": "/fxd/panic", "ACCESS": 2,
                      "DESCRIPTION": "mute, reset, unmute"},
        }
        return {"FULL_PATH": "/", "CONTENTS": {
            "fx": {"FULL_PATH": "/fx", "CONTENTS": fx},
            "fxd": {"FULL_PATH": "/fxd", "CONTENTS": fxd}}}

    def lookup(self, path):
        n = self.tree()
        for part in [p for p in path.split("/") if p]:
            n = n.get("CONTENTS", {}).get(part)
            if n is None:
                return None
        return n

    def host_info(self):
        return {"NAME": self.name, "OSC_IP": "127.0.0.1",
                "OSC_PORT": self.osc_port, "OSC_TRANSPORT": "UDP",
                "WS_IP": "127.0.0.1", "WS_PORT": self.http_port,
                "FXD_FEEDBACK_HZ": 30,
                "EXTENSIONS": {"ACCESS": True, "VALUE": True, "RANGE": True,
                               "DESCRIPTION": True, "UNIT": True,
                               "CLIPMODE": True, "LISTEN": True,
                               "PATH_CHANGED": True}}

    # -- sending --
    def broadcast(self, path, packet):
        for c in list(self.clients):
            if path in c.listen:
                c.send_binary(packet)

    def value_packet(self, s, k, query=False):
        path = "/fx/%s/%s" % (s.label, k)
        if k == "bypass":
            return path, osc_msg(path, "i", int(s.bypass))
        p = s.params[k]
        v = s.values[k]
        if p[6] and not query:
            return path, osc_msg(path, "s", p[6][int(v)])
        return path, osc_msg(path, "f", v)

    # -- OSC from UDP or the WebSocket; reply(packet) answers the sender --
    def handle(self, data, reply):
        try:
            addr, types, args = osc_parse(data)
        except (ValueError, struct.error, IndexError):
            return
        nums = [a for a, t in zip(args, types) if t in "fidhTF"]

        def fail(why):
            reply(osc_msg("/fxd/fail", "ss", addr, why))

        if addr.startswith("/fx/"):
            s, k = self.find(addr)
            if not s:
                return fail("no such parameter")
            if not args:
                return reply(self.value_packet(s, k, query=True)[1])
            if k == "bypass":
                s.bypass = bool(nums and nums[0] >= 0.5)
            else:
                p = s.params[k]
                if p[6] and types[0] in "sS":
                    if args[0] not in p[6]:
                        return fail("labels: " + " ".join(p[6]))
                    s.values[k] = p[6].index(args[0])
                elif nums:
                    s.values[k] = min(p[3], max(p[2], float(nums[0])))
                    if p[6]:
                        s.values[k] = int(round(s.values[k]))
                else:
                    return fail("expects a number")
            self.broadcast(*self.value_packet(s, k))
        elif addr == "/fxd/ping":
            reply(osc_msg("/fxd/pong"))
        elif addr == "/fxd/sync":
            reply(osc_msg("/fxd/synced", "i", nums[0] if nums else 0))
        elif addr == "/fxd/mute":
            if nums:
                self.mute = int(nums[0] >= 0.5)
                self.broadcast("/fxd/mute", osc_msg("/fxd/mute", "i",
                                                    self.mute))
            else:
                reply(osc_msg("/fxd/mute", "i", self.mute))
        elif addr == "/fxd/panic":
            reply(osc_msg("/fxd/done", "s", addr))
        elif addr == "/fxd/chain":
            reply(osc_msg("/fxd/chain", "s", self.chain_text()))
        elif addr == "/fxd/info" and args:
            s, k = self.find(args[0])
            if not s or k == "bypass":
                return fail("no such parameter")
            p = s.params[k]
            m = osc_msg("/fxd/param", "ssffffss", args[0], s.effect,
                        s.values[k], p[2], p[3], p[4], p[1],
                        "enum" if p[6] else p[5])
            if p[6]:
                m = osc_msg("/fxd/param", "ssffffss" + "s" * (1 + len(p[6])),
                            args[0], s.effect, s.values[k], p[2], p[3], p[4],
                            p[1], "enum", p[6][int(s.values[k])], *p[6])
            reply(m)
        elif addr in ("/fxd/chain/load", "/fxd/preset/load") and args:
            text = args[0] if addr.endswith("chain/load") else \
                self.presets.get(args[0])
            if text is None:
                return fail("no preset '%s'" % args[0])
            try:
                self.slots = parse_chain(text)
            except (ValueError, KeyError) as e:
                return fail(str(e))
            reply(osc_msg("/fxd/done", "s", addr))
            for c in list(self.clients):
                c.send_text(json.dumps({"COMMAND": "PATH_CHANGED",
                                        "DATA": "/fx"}))
        elif addr == "/fxd/preset/save" and args:
            self.presets[args[0]] = self.chain_text()
            reply(osc_msg("/fxd/done", "s", addr))
        elif addr == "/fxd/preset/list":
            names = sorted(self.presets)
            reply(osc_msg("/fxd/preset/list", "s" * len(names), *names))
        else:
            fail("no such method")

    async def ticker(self):
        t0 = time.monotonic()
        tick = 0
        while True:
            await asyncio.sleep(0.1)
            tick += 1
            t = time.monotonic() - t0
            lvl = 0.0 if self.mute else 0.3 + 0.25 * math.sin(t * 2)
            self.broadcast("/fxd/meters", osc_msg(
                "/fxd/meters", "ffff", lvl, lvl * 0.5, lvl * 0.8, lvl * 0.4))
            if tick % 10 == 0:
                st = []
                for w in ("callback", "worker", "knob"):
                    for k, v in (("count", 1000 + tick), ("min", 0.01),
                                 ("median", 0.05), ("mean", 0.06),
                                 ("p95", 0.2), ("p99", 0.4), ("max", 1.5)):
                        st += [w + "." + k, v]
                st += ["load", 3.5, "period", 256, "latency", 512,
                       "rate", 30]
                for k, v in self.counters.items():
                    st += [k, v]
                types = "sd" * (len(st) // 2)
                self.broadcast("/fxd/stats", osc_msg("/fxd/stats", types, *st))
            if tick % 50 == 0:
                self.counters["xruns"] += 1
                cs = [x for kv in self.counters.items() for x in kv]
                self.broadcast("/fxd/counters", osc_msg(
                    "/fxd/counters", "sd" * len(self.counters), *cs))


# ---- HTTP and the WebSocket ------------------------------------------------
class WsClient:
    def __init__(self, writer):
        self.writer = writer
        self.listen = set()

    def frame(self, op, payload):
        n = len(payload)
        if n < 126:
            head = struct.pack(">BB", 0x80 | op, n)
        elif n < 65536:
            head = struct.pack(">BBH", 0x80 | op, 126, n)
        else:
            head = struct.pack(">BBQ", 0x80 | op, 127, n)
        if not self.writer.is_closing():
            self.writer.write(head + payload)

    def send_binary(self, b):
        self.frame(2, b)

    def send_text(self, s):
        self.frame(1, s.encode())


async def ws_loop(mock, reader, writer):
    c = WsClient(writer)
    mock.clients.append(c)
    try:
        while True:
            b0, b1 = await reader.readexactly(2)
            op, n = b0 & 15, b1 & 127
            if n == 126:
                n = struct.unpack(">H", await reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", await reader.readexactly(8))[0]
            mask = await reader.readexactly(4) if b1 & 128 else b"\0" * 4
            data = bytes(x ^ mask[i % 4] for i, x in
                         enumerate(await reader.readexactly(n)))
            if op == 8:
                c.frame(8, data[:2])
                break
            if op == 9:
                c.frame(10, data)
            elif op == 1:
                try:
                    m = json.loads(data)
                except ValueError:
                    continue
                if m.get("COMMAND") == "LISTEN":
                    c.listen.add(m.get("DATA"))
                elif m.get("COMMAND") == "IGNORE":
                    c.listen.discard(m.get("DATA"))
            elif op == 2:
                mock.handle(data, c.send_binary)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        mock.clients.remove(c)
        writer.close()


async def http(mock, page, reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ConnectionError):
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    method, target = lines[0].split(" ")[:2]
    hdr = {}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            hdr[k.strip().lower()] = v.strip()

    def respond(code, ctype, body):
        writer.write(("HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n"
                      "Cache-Control: no-store\r\n\r\n" %
                      (code, {200: "OK", 204: "No Content", 400: "Bad Request",
                              404: "Not Found"}[code], ctype, len(body))
                      ).encode() + body)

    if hdr.get("upgrade", "").lower() == "websocket":
        acc = base64.b64encode(hashlib.sha1(
            (hdr["sec-websocket-key"] + GUID).encode()).digest()).decode()
        writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket"
                      "\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s"
                      "\r\n\r\n" % acc).encode())
        await ws_loop(mock, reader, writer)
        return
    path, _, query = target.partition("?")
    if method != "GET":
        respond(400, "text/plain", b"GET only\n")
    elif path == "/ui" or (path == "/" and not query and
                           "text/html" in hdr.get("accept", "")):
        with open(page, "rb") as f:   # read each time: edit and reload
            respond(200, "text/html; charset=utf-8", f.read())
    elif path == "/" and query == "HOST_INFO":
        respond(200, "application/json", json.dumps(mock.host_info()).encode())
    else:
        n = mock.lookup(path)
        if n is None:
            respond(404, "text/plain", b"no such path\n")
        elif query:
            if query not in n:
                respond(204, "application/json", b"")
            else:
                respond(200, "application/json",
                        json.dumps({query: n[query]}).encode())
        else:
            respond(200, "application/json", json.dumps(n).encode())
    await writer.drain()
    writer.close()


class Udp(asyncio.DatagramProtocol):
    def __init__(self, mock):
        self.mock = mock

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.mock.handle(data, lambda p: self.transport.sendto(p, addr))


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--http-port", type=int, default=9000)
    ap.add_argument("--osc-port", type=int, default=8000)
    ap.add_argument("--chain", default=DEFAULT_CHAIN)
    ap.add_argument("--name", default="fxd-mock")
    ap.add_argument("--page", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "fxd.html"))
    a = ap.parse_args()
    mock = Mock(a.chain, a.name)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Udp(mock), local_addr=("127.0.0.1", a.osc_port))
    mock.osc_port = transport.get_extra_info("sockname")[1]
    server = await asyncio.start_server(
        lambda r, w: http(mock, a.page, r, w), "127.0.0.1", a.http_port)
    mock.http_port = server.sockets[0].getsockname()[1]
    print("mock-fxd: ready: osc udp 127.0.0.1:%d, http 127.0.0.1:%d" %
          (mock.osc_port, mock.http_port), flush=True)
    asyncio.ensure_future(mock.ticker())
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
