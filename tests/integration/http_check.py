# SPDX-License-Identifier: ISC
"""fxd's HTTP side against the real fxd (tests/integration/test_http.sh
runs it): OSCQuery answers, the WebSocket, and hostile HTTP. Prints TAP
lines (numbered from argv's FIRST), one per check, and a plan is the
caller's. Needs Debian's python3-websocket.

usage: http_check.py FXCTL OSC_PORT HTTP_PORT CLIENT_NAME FIRST
"""
import json
import resource
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

import websocket

FXCTL, OSC, HTTP, NAME, FIRST = sys.argv[1], int(sys.argv[2]), \
    int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
BASE = f"http://127.0.0.1:{HTTP}"
n = FIRST - 1
bad = 0


def check(desc, ok, why=""):
    global n, bad
    n += 1
    print(("ok %d - %s" if ok else "not ok %d - %s") % (n, desc))
    if not ok:
        bad = 1
        for line in str(why).splitlines():
            print("# " + line)
    sys.stdout.flush()


def get(path, accept="application/json"):
    """(status, body) of GET path."""
    req = urllib.request.Request(BASE + path, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return 0, str(e).encode()


def fxctl(*args):
    r = subprocess.run([FXCTL, "--port", str(OSC), *args],
                       capture_output=True, text=True, timeout=15)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def until(cond, seconds):
    """Awaits cond() (a deadline, not a pace)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    return cond()


def nodes(tree):
    """Every node of an OSCQuery tree, by FULL_PATH."""
    out = {tree["FULL_PATH"]: tree}
    for child in tree.get("CONTENTS", {}).values():
        out.update(nodes(child))
    return out


def osc_message(address, tag, value):
    def pad(b):
        return b + b"\0" * (4 - len(b) % 4)
    arg = struct.pack(">f", value) if tag == "f" else pad(value.encode())
    return pad(address.encode()) + pad(("," + tag).encode()) + arg


def osc_parse(data):
    """(address, [args]) of one OSC message (f, i, s, T, F)."""
    def string(at):
        end = data.index(b"\0", at)
        return data[at:end].decode(), (end + 4) & ~3
    address, at = string(0)
    tags, at = string(at)
    args = []
    for t in tags[1:]:
        if t == "f":
            args.append(struct.unpack(">f", data[at:at + 4])[0])
            at += 4
        elif t == "i":
            args.append(struct.unpack(">i", data[at:at + 4])[0])
            at += 4
        elif t == "d":
            args.append(struct.unpack(">d", data[at:at + 8])[0])
            at += 8
        elif t == "s":
            s, at = string(at)
            args.append(s)
        elif t in "TF":
            args.append(t == "T")
    return address, args


def frames_until(ws, want, seconds=10):
    """Reads frames until want(opcode, data) holds; the frames read."""
    seen = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ws.settimeout(max(0.05, end - time.monotonic()))
        try:
            op, data = ws.recv_data()
        except websocket.WebSocketTimeoutException:
            break
        seen.append((op, data))
        if want(op, data):
            return True, seen
    return False, seen


def synced(ws):
    """Awaits the answer to a /fxd/ping sent now: fxd takes one client's
    frames in order, so what was sent before it is in force. The frames
    read meanwhile."""
    ws.send_binary(b"/fxd/ping\0\0\0,\0\0\0")
    ok, seen = frames_until(
        ws, lambda op, d: op == 2 and osc_parse(d)[0] == "/fxd/pong")
    return seen if ok else None


def stats():
    rc, out, _ = fxctl("--json", "stats")
    return json.loads(out) if rc == 0 else {}


# ---- OSCQuery ---------------------------------------------------------------

status, body = get("/?HOST_INFO")
info = json.loads(body) if status == 200 else {}
check("?HOST_INFO names the client and the real OSC and WebSocket ports",
      info.get("NAME") == NAME and info.get("OSC_PORT") == OSC and
      info.get("WS_PORT") == HTTP and info.get("OSC_TRANSPORT") == "UDP" and
      isinstance(info.get("EXTENSIONS"), dict), (status, body))

status, body = get("/")
tree = json.loads(body) if status == 200 else {"FULL_PATH": "/"}
every = nodes(tree)
rc, out, _ = fxctl("--json", "list")
params = json.loads(out) if rc == 0 else []
problems = []
for p in params:
    node = every.get(p["path"])
    if not node:
        problems.append("no node " + p["path"])
        continue
    want = {"FULL_PATH": p["path"], "ACCESS": 3, "CLIPMODE": "both",
            "UNIT": p["unit"]}
    for k, v in want.items():
        if node.get(k) != v:
            problems.append(f"{p['path']} {k} {node.get(k)!r} != {v!r}")
    if not node.get("DESCRIPTION"):
        problems.append(p["path"] + " has no DESCRIPTION")
    rng = node.get("RANGE", [{}])[0]
    if "VALS" in rng:
        if node.get("TYPE") != "s" or node.get("VALUE", [None])[0] not in \
                rng["VALS"]:
            problems.append(f"{p['path']} enum {node}")
    elif (rng.get("MIN"), rng.get("MAX")) != (p["min"], p["max"]) or \
            node.get("VALUE") != [p["value"]]:
        problems.append(f"{p['path']} RANGE/VALUE {rng} {node.get('VALUE')}"
                        f" != {p['min']}..{p['max']} {p['value']}")
    norm = every.get(p["path"] + "/norm")
    if not norm or norm.get("RANGE") != [{"MIN": 0, "MAX": 1}]:
        problems.append(p["path"] + "/norm twin missing or wrong")
check(f"GET / has every one of the {len(params)} parameters fxctl lists "
      "with FULL_PATH, TYPE, VALUE, RANGE, ACCESS, UNIT, CLIPMODE, "
      "DESCRIPTION and its /norm twin",
      params and not problems, "\n".join(problems[:20]))
methods = [m for m in every.values()
           if m["FULL_PATH"].startswith("/fxd/") and m.get("ACCESS") == 2]
check("/fxd/ methods appear with ACCESS 2 and a DESCRIPTION",
      len(methods) > 10 and all(m.get("DESCRIPTION") for m in methods),
      [m["FULL_PATH"] for m in methods])

status, body = get("/fx/vol/db")
check("GET /fx/vol/db is that node",
      status == 200 and json.loads(body)["FULL_PATH"] == "/fx/vol/db",
      (status, body))
fxctl("set", "/fx/vol/db", "-6.5")
status, body = get("/fx/vol/db?VALUE")
check("GET /fx/vol/db?VALUE is the value just set over OSC",
      status == 200 and json.loads(body) == {"VALUE": [-6.5]}, (status, body))
statuses = {p: get(p)[0] for p in
            ["/fx/nothing", "/fx/vol/db?NOTANATTRIBUTE",
             "/fx/vol/db?HOST_INFO", "/fx/vol?VALUE"]}
check("404 for an unknown path, 400 for bad queries, 204 for nothing",
      statuses == {"/fx/nothing": 404, "/fx/vol/db?NOTANATTRIBUTE": 400,
                   "/fx/vol/db?HOST_INFO": 400, "/fx/vol?VALUE": 204},
      statuses)
status, body = get("/", accept="text/html,application/xhtml+xml")
status_ui, body_ui = get("/ui", accept="*/*")
check("a browser's GET / and GET /ui are the page",
      status == 200 and status_ui == 200 and body == body_ui and
      body.lower().startswith(b"<!doctype html>"), (status, body[:200]))

# ---- WebSocket --------------------------------------------------------------

ws = websocket.create_connection(f"ws://127.0.0.1:{HTTP}/", timeout=10)
ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/fx/vol/db"}))
check("/fxd/ping over the WebSocket is answered /fxd/pong",
      synced(ws) is not None)
fxctl("set", "/fx/vol/db", "-12.25")
ok, seen = frames_until(
    ws, lambda op, d: op == websocket.ABNF.OPCODE_BINARY and
    osc_parse(d) == ("/fx/vol/db", [-12.25]))
check("a LISTENing client gets a value set over UDP as binary OSC", ok,
      [osc_parse(d) if op == 2 else d for op, d in seen])
ws.send_binary(osc_message("/fx/vol/db", "f", -3.0))
ok = until(lambda: fxctl("get", "/fx/vol/db")[1] == "/fx/vol/db -3", 10)
check("a binary OSC set over the WebSocket changes the parameter", ok,
      fxctl("get", "/fx/vol/db"))
ws.send_binary(osc_message("/fx/nothing/db", "f", 1.0))
ok, seen = frames_until(
    ws, lambda op, d: op == 2 and osc_parse(d)[0] == "/fxd/fail")
check("a bad OSC set over the WebSocket is answered /fxd/fail", ok, seen)
# The -3 set above is fed back (coalesced, at the feedback rate) before
# anything below can be judged.
frames_until(ws, lambda op, d: op == 2 and osc_parse(d) == ("/fx/vol/db",
                                                             [-3.0]))
ws.send(json.dumps({"COMMAND": "IGNORE", "DATA": "/fx/vol/db"}))
ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/fxd/mute"}))
synced(ws)
fxctl("set", "/fx/vol/db", "-20")
fxctl("mute", "on")
ok, seen = frames_until(
    ws, lambda op, d: op == 2 and osc_parse(d)[0] == "/fxd/mute")
check("after IGNORE the value no longer comes; a new LISTEN does",
      ok and not any(op == 2 and osc_parse(d)[0] == "/fx/vol/db"
                     for op, d in seen),
      [osc_parse(d) if op == 2 else d for op, d in seen])
fxctl("mute", "off")
rc, out, err = fxctl("load", "g:gain db=-1 | lp:lowpass cutoff=3000")
ok, seen = frames_until(
    ws, lambda op, d: op == websocket.ABNF.OPCODE_TEXT and
    json.loads(d) == {"COMMAND": "PATH_CHANGED", "DATA": "/fx"})
every2 = nodes(json.loads(get("/")[1]))
check("a chain swap sends PATH_CHANGED and the tree follows",
      rc == 0 and ok and "/fx/g/db" in every2 and
      "/fx/lp/cutoff" in every2 and "/fx/vol/db" not in every2,
      (rc, out, err, seen, sorted(every2)[:20]))
ws.close()

# ---- hostile HTTP -----------------------------------------------------------


def raw(request, seconds=10):
    """What fxd answers to bytes sent on a fresh connection."""
    s = socket.create_connection(("127.0.0.1", HTTP), timeout=seconds)
    try:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and b"content-length: 0" in data.lower():
                break
            if len(data) > 1 << 20:
                break
    except (ConnectionResetError, socket.timeout, BrokenPipeError):
        pass
    finally:
        s.close()
    return data


def serving(http=True):
    """fxd still answers OSC (and HTTP), and its audio worker runs."""
    before = stats().get("chunks", -1)
    ping = fxctl("ping")[0] == 0
    web = not http or get("/fx")[0] == 200
    moved = until(lambda: stats().get("chunks", -1) > before, 10)
    return ping and web and moved


for path in ["/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
             "/ui/../../etc/passwd", "/..%2f..%2fetc%2fpasswd",
             "//etc/passwd", "/ui%00.html"]:
    answer = raw(f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                 "Connection: close\r\n\r\n".encode())
    check(f"path traversal {path} reaches no file",
          b"root:" not in answer and (b" 404 " in answer or
                                      b" 400 " in answer or
                                      b" 403 " in answer or answer == b""),
          answer[:300])

answer = raw(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 +
             b"\r\n\r\n")
check("oversized headers are refused and fxd serves on",
      not answer.startswith(b"HTTP/1.1 200") and serving(), answer[:200])

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
refused_before = stats().get("http.refused", 0)
crowd = []
for _ in range(1000):
    try:
        crowd.append(socket.create_connection(("127.0.0.1", HTTP), timeout=2))
    except OSError:
        break
alive = serving(http=False)
for s in crowd:
    s.close()
check(f"1,000 idle connections ({len(crowd)} opened) leave OSC and the "
      "audio served", alive)
check("and once they are gone HTTP answers again",
      until(lambda: get("/fx")[0] == 200, 30))

# Slow-loris: connections that trickle a header byte a second.
loris = []
for _ in range(64):
    s = socket.create_connection(("127.0.0.1", HTTP), timeout=2)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    loris.append(s)
t0 = time.monotonic()
others = until(lambda: get("/fx")[0] == 200, 30)
check("64 slow-loris connections do not lock out a normal request",
      others and serving())


def closed_by_fxd():
    gone = 0
    for s in loris:
        try:
            s.sendall(b"X")
            s.settimeout(0.01)
            if s.recv(1) == b"":
                gone += 1
        except socket.timeout:
            pass
        except OSError:
            gone += 1
    return gone == len(loris)


check("fxd closes the slow connections on its own",
      until(closed_by_fxd, 60), f"{time.monotonic() - t0:.1f} s")
for s in loris:
    s.close()
sys.exit(bad)
