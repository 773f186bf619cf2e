# SPDX-License-Identifier: ISC
"""What fxd's HTTP side costs and how fast it tells: fxd on a private
`jackd -d dummy`, run in turn with --no-http, with HTTP idle, and with HTTP
and one WebSocket client listening to every parameter (what the browser
page does), interleaved over rounds. For each: fxd's CPU while idle (user +
system time from /proc, % of one core), its resident memory (VmRSS) and
threads. Then, with HTTP: the time from an OSC set sent over UDP to the
WebSocket client receiving the new value (binary OSC), median and p99 over
many sets; feedback is coalesced at --osc-rate (30 Hz by default), so this
is at most about one feedback period plus the hops.

usage: /usr/bin/python3 bench/bench_http.py [--quick] [--json FILE|-]
           [--fxd daemon/fxd] [--rounds N] [--idle SECONDS] [--sets N]
Writes JSON (to FILE, or stdout with `-`, the table then on stderr).
Needs jackd and Debian's python3-websocket.
"""
import argparse
import json
import os
import random
import re
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import websocket

TICK = os.sysconf("SC_CLK_TCK")


def osc_message(address, value):
    def pad(b):
        return b + b"\0" * (4 - len(b) % 4)
    return pad(address.encode()) + pad(b",f") + struct.pack(">f", value)


def osc_float(data):
    """(address, first float) of a ,f... OSC message."""
    end = data.index(b"\0")
    address = data[:end].decode()
    at = (end + 4) & ~3
    tags_end = data.index(b"\0", at)
    at = (tags_end + 4) & ~3
    return address, struct.unpack(">f", data[at:at + 4])[0]


def proc_cpu(pid):
    """utime + stime of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def await_line(path, pattern, proc, seconds=20):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            break
        with open(path) as f:
            m = re.search(pattern, f.read())
        if m:
            return m
        time.sleep(0.05)
    raise SystemExit(f"bench_http: no '{pattern}' in {path}")


def start_fxd(fxd, tmp, label, http):
    log = os.path.join(tmp, f"fxd-{label}.log")
    args = [fxd, "--name", f"bh-{label}-{os.getpid()}", "--osc-port", "0"]
    args += ["--http-port", "0"] if http else ["--no-http"]
    with open(log, "w") as out:
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    m = await_line(log, r"ready:.*osc udp [0-9.]+:(\d+), (?:http [0-9.]+:(\d+)|http off)", p)
    return p, int(m.group(1)), int(m.group(2)) if m.group(2) else 0


def listen_all(http_port):
    """A WebSocket client LISTENing to every parameter in the tree."""
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/") as r:
        tree = json.load(r)
    paths = []

    def walk(node):
        if "VALUE" in node:
            paths.append(node["FULL_PATH"])
        for child in node.get("CONTENTS", {}).values():
            walk(child)
    walk(tree)
    ws = websocket.create_connection(f"ws://127.0.0.1:{http_port}/",
                                     timeout=10)
    for p in paths + ["/fxd/meters", "/fxd/stats", "/fxd/counters"]:
        ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": p}))
    return ws, len(paths)


def idle_figures(proc, seconds, ws=None):
    """CPU % of one core over @p seconds, RSS kB and threads."""
    t0, c0 = time.monotonic(), proc_cpu(proc.pid)
    end = t0 + seconds
    while time.monotonic() < end:
        if ws:  # keep reading what the client is sent, as a page does
            ws.settimeout(max(0.01, end - time.monotonic()))
            try:
                ws.recv_data()
            except websocket.WebSocketTimeoutException:
                pass
        else:
            time.sleep(min(0.5, max(0.0, end - time.monotonic())))
    cpu = 100 * (proc_cpu(proc.pid) - c0) / (time.monotonic() - t0)
    return {"cpu_pct": cpu, "rss_kb": proc_status(proc.pid, "VmRSS"),
            "threads": proc_status(proc.pid, "Threads")}


def set_to_websocket(osc_port, http_port, sets):
    """Milliseconds from each UDP set to the WebSocket frame with it."""
    ws = websocket.create_connection(f"ws://127.0.0.1:{http_port}/",
                                     timeout=10)
    ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/fx/vol/db"}))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    time.sleep(0.2)  # the LISTEN crosses two threads; not a measurement
    out = []
    for i in range(sets):
        value = -round(random.uniform(1, 40), 2)
        t0 = time.perf_counter()
        udp.sendto(osc_message("/fx/vol/db", value), ("127.0.0.1", osc_port))
        end = time.monotonic() + 2
        while time.monotonic() < end:
            ws.settimeout(max(0.01, end - time.monotonic()))
            try:
                op, data = ws.recv_data()
            except websocket.WebSocketTimeoutException:
                break
            if op == 2 and osc_float(data) == ("/fx/vol/db",
                                               struct.unpack(">f", struct.pack(">f", value))[0]):
                out.append(1e3 * (time.perf_counter() - t0))
                break
        # Sets land in different feedback periods.
        time.sleep(random.uniform(0.0, 0.05))
    ws.close()
    return out


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))] if xs else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--fxd", default="daemon/fxd")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--idle", type=float)
    ap.add_argument("--sets", type=int)
    a = ap.parse_args()
    rounds = a.rounds or (1 if a.quick else 3)
    idle = a.idle or (3 if a.quick else 10)
    sets = a.sets or (50 if a.quick else 300)
    tmp = tempfile.mkdtemp(prefix="bench-http.")
    server = f"benchhttp{os.getpid()}"
    env = dict(os.environ, JACK_DEFAULT_SERVER=server, JACK_NO_START_SERVER="1")
    os.environ.update(env)
    jack = subprocess.Popen(["jackd", "-n", server, "--no-realtime", "-d",
                             "dummy", "-r", "48000", "-p", "256"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    end = time.monotonic() + 10
    while subprocess.run(["jack_lsp"], capture_output=True).returncode:
        if time.monotonic() > end:
            raise SystemExit("bench_http: jackd did not start")
        time.sleep(0.1)
    kinds = [("no_http", False, False), ("http_idle", True, False),
             ("http_listener", True, True)]
    figures = {k: [] for k, _, _ in kinds}
    latency = []
    try:
        for r in range(rounds):
            for label, http, listener in kinds:
                p, osc, web = start_fxd(a.fxd, tmp, f"{label}{r}", http)
                ws = None
                try:
                    if listener:
                        ws, n = listen_all(web)
                    time.sleep(1)  # past start-up work; not a measurement
                    figures[label].append(idle_figures(p, idle, ws))
                    if label == "http_idle":
                        latency += set_to_websocket(osc, web, sets // rounds)
                finally:
                    if ws:
                        ws.close()
                    p.terminate()
                    p.wait(10)
    finally:
        jack.terminate()
        jack.wait(10)

    def med(label, key):
        return statistics.median(f[key] for f in figures[label])

    result = {
        "bench": "http",
        "rounds": rounds, "idle_seconds": idle, "period": 256, "rate": 48000,
        "idle": {label: {"cpu_pct_median": med(label, "cpu_pct"),
                         "rss_kb_median": med(label, "rss_kb"),
                         "threads": med(label, "threads"),
                         "runs": figures[label]}
                 for label, _, _ in kinds},
        "set_to_websocket_ms": {"n": len(latency), "sent": sets // rounds * rounds,
                                "median": statistics.median(latency) if latency else None,
                                "p99": pct(latency, 99), "max": max(latency) if latency else None},
    }
    base = result["idle"]["no_http"]
    for label in ("http_idle", "http_listener"):
        x = result["idle"][label]
        x["rss_kb_added"] = x["rss_kb_median"] - base["rss_kb_median"]
        x["cpu_pct_added"] = x["cpu_pct_median"] - base["cpu_pct_median"]
    table = ["| fxd | idle CPU (% of a core, median) | RSS (kB, median) | "
             "added RSS (kB) | threads |", "|---|---|---|---|---|"]
    for label, _, _ in kinds:
        x = result["idle"][label]
        table.append(f"| {label} | {x['cpu_pct_median']:.2f} | "
                     f"{x['rss_kb_median']:.0f} | "
                     f"{x.get('rss_kb_added', 0):+.0f} | {x['threads']:.0f} |")
    lat = result["set_to_websocket_ms"]
    if lat["n"]:
        table.append("")
        table.append(f"OSC set (UDP) to WebSocket frame: median "
                     f"{lat['median']:.1f} ms, p99 {lat['p99']:.1f} ms, max "
                     f"{lat['max']:.1f} ms over {lat['n']} of {lat['sent']} sets")
    text = json.dumps(result, indent=1)
    if a.json == "-":
        print(text)
        print("\n".join(table), file=sys.stderr)
    else:
        if a.json:
            with open(a.json, "w") as f:
                f.write(text + "\n")
        print("\n".join(table))


if __name__ == "__main__":
    main()
