#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""bench_daemon: fxd against a private jackd dummy server.

For each period (64, 128, 256 frames) and each bench_dsp chain it starts
`jackd -d dummy` and fxd on the chain. fxd first idles (its callbacks run,
nothing is connected) while its CPU time is read from /proc; then fxd-probe
plays a test signal through it. Before fxd stops, its /fxd/stats reply gives
the worker's and the callback's median and p99; at exit it logs DSP load,
JACK xruns, underflows and late chunks. Prints a table and JSON (--json FILE,
or - for stdout with the table on stderr).

Several fxd binaries (--fxd LABEL=PATH, repeated) are run in turn within each
round (--rounds), so that an old and a new build meet the same machine; the
table then gives, per binary, the median over rounds and each figure's
ratio to the first binary's.

Usage: bench_daemon.py [--seconds N] [--quick] [--periods 64,128,256]
                       [--chains a,default] [--rounds N] [--idle-seconds S]
                       [--json FILE] [--fxd [LABEL=]PATH ...] [--probe PATH]
"""
import argparse
import json
import os
import re
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

CHAINS = {
    "a: lowpass 8k order 10": "lowpass cutoff=8000 order=10",
    "b: depth-5 (HP2/LP4 x5)": " | ".join(
        ["highpass cutoff=80 order=2", "lowpass cutoff=8000 order=4"] * 2
        + ["highpass cutoff=80 order=2"]),
    "d: live rig (HP, 3-band EQ, comp, delay, reverb, gain)": (
        "hpf:highpass cutoff=80 order=2 | lo:lowshelf cutoff=200 gain=2 | "
        "mid:peaking cutoff=1000 q=0.7 gain=-2 | hi:highshelf cutoff=6000 "
        "gain=1 | comp:compressor threshold=-18 ratio=3 | dly:delay time=350 "
        "feedback=0.3 mix=0.2 | verb:reverb room=0.4 mix=0.15 | vol:gain db=0"),
    "default chain": "",
    # fxd-probe's onsets need a chain that passes a burst's first sample
    # and adds no echoes: filters only.
    "filters (hpf, eq, lpf, vol)": (
        "hpf:highpass cutoff=80 order=2 | eq:peaking cutoff=1000 q=0.7 "
        "gain=0 | lpf:lowpass cutoff=12000 order=2 | vol:gain db=0"),
}
PROBED = CHAINS["filters (hpf, eq, lpf, vol)"]

STATS = re.compile(
    r"stats at exit: callbacks (\d+), chunks (\d+), dsp load ([\d.]+)%, "
    r"callback p99 ([\d.]+) ms, worker p99 ([\d.]+) ms, worker max "
    r"([\d.]+) ms, xruns (\d+), underflows (\d+), overflows (\d+), late "
    r"(\d+), nonfinite (\d+)")
READY_PORT = re.compile(r"ready:.*, osc udp [^ ]*:(\d+)")

# Figures compared between binaries: key, column head, format.
COLUMNS = [
    ("idle_cpu_pct", "idle cpu %", "%10.2f"),
    ("cpu_pct", "cpu %", "%7.2f"),
    ("worker_median_us", "wk med us", "%9.1f"),
    ("worker_p99_us", "wk p99 us", "%9.1f"),
    ("callback_median_us", "cb med us", "%9.1f"),
    ("callback_p99_us", "cb p99 us", "%9.1f"),
]


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise RuntimeError("timed out waiting for " + what)


def stop(proc, timeout=5):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid):
    """User plus system CPU time of process pid so far, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command: state is field 3, utime 14 and stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def osc_string(s):
    b = s.encode() + b"\0"
    return b + b"\0" * (-len(b) % 4)


def osc_parse(data):
    """Address and arguments of one OSC message (s, f, d, i, h only)."""
    def string(pos):
        end = data.index(b"\0", pos)
        return data[pos:end].decode(), (end + 4) & ~3
    address, pos = string(0)
    tags, pos = string(pos)
    args = []
    for t in tags[1:]:
        if t == "s":
            v, pos = string(pos)
        elif t in "fi":
            v = struct.unpack(">" + t, data[pos:pos + 4])[0]
            pos += 4
        elif t in "dh":
            v = struct.unpack(">" + ("d" if t == "d" else "q"),
                              data[pos:pos + 8])[0]
            pos += 8
        else:
            raise ValueError("OSC type %r" % t)
        args.append(v)
    return address, args


def fxd_stats(port):
    """fxd's /fxd/stats reply as a dict of key -> value."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(2)
        s.sendto(osc_string("/fxd/stats") + osc_string(","),
                 ("127.0.0.1", port))
        while True:
            address, args = osc_parse(s.recv(65536))
            if address == "/fxd/stats":
                return dict(zip(args[0::2], args[1::2]))


def run_one(args, fxd_bin, period, chain, tmp):
    server = "fxdbench-%d-%d" % (os.getpid(), period)
    env = dict(os.environ, JACK_NO_START_SERVER="1",
               JACK_DEFAULT_SERVER=server)
    jlog = open(os.path.join(tmp, "jackd-%d.log" % period), "w")
    rt = [] if args.realtime else ["--no-realtime"]
    jackd = subprocess.Popen(
        ["jackd", "-n", server] + rt + ["-d", "dummy", "-r", "48000", "-p",
                                        str(period)],
        stdout=jlog, stderr=jlog, env=env)
    flog_path = os.path.join(tmp, "fxd-%d.log" % period)
    fxd = probe = None
    try:
        # JACK_DEFAULT_SERVER, not -s: jack_lsp 1.9.21 -s NAME overruns a
        # buffer for some name lengths.
        wait_for(lambda: subprocess.run(
            ["jack_lsp"], capture_output=True, env=env).returncode == 0,
            10, "jackd")
        cmd = [fxd_bin, "-n", "fxd", "-v", "--osc-port", "0"] + (
            [chain] if chain else [])
        with open(flog_path, "w") as flog:
            fxd = subprocess.Popen(cmd, stderr=flog, env=env)
        wait_for(lambda: READY_PORT.search(open(flog_path).read()), 10,
                 "fxd")
        port = int(READY_PORT.search(open(flog_path).read()).group(1))
        # Idle: callbacks run on silence, nothing is connected.
        c0, t0 = cpu_seconds(fxd.pid), time.monotonic()
        time.sleep(args.idle_seconds)
        idle_cpu = 100 * (cpu_seconds(fxd.pid) - c0) / (time.monotonic() - t0)
        c0, t0 = cpu_seconds(fxd.pid), time.monotonic()
        probe = subprocess.run(
            [args.probe, "--target", "fxd", "--seconds", str(args.seconds)],
            capture_output=True, text=True, env=env)
        busy_cpu = 100 * (cpu_seconds(fxd.pid) - c0) / (time.monotonic() - t0)
        st = fxd_stats(port)
        stop(fxd)
        log = open(flog_path).read()
        m = STATS.search(log)
        if not m:
            raise RuntimeError("no exit statistics in fxd's log:\n" + log)
        v = m.groups()
        return {
            "period": period, "seconds": args.seconds,
            "idle_seconds": args.idle_seconds,
            "idle_cpu_pct": idle_cpu, "cpu_pct": busy_cpu,
            "callbacks": int(v[0]), "chunks": int(v[1]),
            "dsp_load_pct": float(v[2]),
            "callback_median_us": 1e3 * st["callback.median"],
            "callback_p99_us": 1e3 * st["callback.p99"],
            "worker_median_us": 1e3 * st["worker.median"],
            "worker_p99_us": 1e3 * st["worker.p99"],
            "worker_max_us": 1e3 * float(v[5]),
            "jack_xruns": int(v[6]), "underflows": int(v[7]),
            "input_overflows": int(v[8]), "late_dropped": int(v[9]),
            "nonfinite": int(v[10]),
            # Onsets are exact only where the chain passes a burst's first
            # sample (b0 != 0) and adds no echoes: the filters-only chain.
            "probe_latency_ok": (probe.returncode == 0)
            if chain == PROBED else None,
        }
    finally:
        if fxd:
            stop(fxd)
        stop(jackd)
        jlog.close()


def fxd_binaries(specs):
    """[(label, path)] from LABEL=PATH or PATH arguments."""
    out = []
    for i, spec in enumerate(specs):
        label, sep, path = spec.partition("=")
        if not sep:
            label, path = ("fxd" if len(specs) == 1 else "fxd%d" % (i + 1),
                           spec)
        out.append((label, path))
    return out


def summarise(results, labels):
    """Per case and binary: the median over rounds of each figure, the
    worst of the counters, and each figure's ratio to the first binary."""
    rows = []
    cases = []
    for r in results:
        if (r["chain"], r["period"]) not in cases:
            cases.append((r["chain"], r["period"]))
    for chain, period in cases:
        base = None
        for label in labels:
            runs = [r for r in results if r["chain"] == chain
                    and r["period"] == period and r["fxd"] == label]
            row = {"chain": chain, "period": period, "fxd": label,
                   "rounds": len(runs)}
            for key, _, _ in COLUMNS:
                row[key] = statistics.median(r[key] for r in runs)
            for key in ("jack_xruns", "underflows", "late_dropped"):
                row[key] = max(r[key] for r in runs)
            probes = [r["probe_latency_ok"] for r in runs]
            row["probe_latency_ok"] = (None if probes[0] is None
                                       else all(probes))
            if base is None:
                base = row
            row["ratio"] = {key: (row[key] / base[key] if base[key] else None)
                            for key, _, _ in COLUMNS}
            rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--quick", action="store_true",
                    help="3 s per case instead of 60, 2 s idle instead of 5")
    ap.add_argument("--json", default=None)
    ap.add_argument("--periods", default="64,128,256",
                    help="comma-separated periods (default 64,128,256)")
    ap.add_argument("--chains", default=None,
                    help="comma-separated prefixes of chain names "
                    "(default: all)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="runs of every case and binary, interleaved")
    ap.add_argument("--idle-seconds", type=float, default=None,
                    help="idle time before the probe, for idle CPU (5 s)")
    ap.add_argument("--realtime", type=int, default=int(os.geteuid() == 0),
                    help="1: jackd with realtime scheduling (default as root)")
    ap.add_argument("--fxd", action="append", default=None,
                    metavar="[LABEL=]PATH",
                    help="fxd binary; repeat to compare (the first is the "
                    "base of the ratios)")
    ap.add_argument("--probe",
                    default=os.path.join(HERE, "..", "clients", "fxd-probe"))
    args = ap.parse_args()
    if args.quick:
        args.seconds = 3
    if args.idle_seconds is None:
        args.idle_seconds = 2 if args.quick else 5
    binaries = fxd_binaries(args.fxd or
                            [os.path.join(HERE, "..", "daemon", "fxd")])
    labels = [label for label, _ in binaries]
    chains = {name: chain for name, chain in CHAINS.items()
              if not args.chains or any(name.startswith(p)
                                        for p in args.chains.split(","))}
    table = sys.stderr if args.json == "-" else sys.stdout
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            for name, chain in chains.items():
                for period in [int(p) for p in args.periods.split(",")]:
                    for label, path in binaries:
                        r = run_one(args, path, period, chain, tmp)
                        r.update(chain=name, fxd=label, round=rnd)
                        results.append(r)
    rows = summarise(results, labels)
    heads = " ".join("%*s" % (len(fmt % 0), head) for _, head, fmt in COLUMNS)
    print("%-24s %6s %-8s %s %6s %8s %5s %6s" % (
        "chain", "period", "fxd", heads, "xruns", "underfl", "late", "probe"),
        file=table)
    for row in rows:
        figures = " ".join(fmt % row[key] for key, _, fmt in COLUMNS)
        print("%-24s %6d %-8s %s %6d %8d %5d %6s" % (
            row["chain"][:24], row["period"], row["fxd"][:8], figures,
            row["jack_xruns"], row["underflows"], row["late_dropped"],
            {True: "ok", False: "FAIL", None: "-"}[row["probe_latency_ok"]]),
            file=table)
        if row["fxd"] != labels[0]:
            ratios = " ".join(
                ("%*.2fx" % (len(fmt % 0) - 1, row["ratio"][key])
                 if row["ratio"][key] is not None else
                 "%*s" % (len(fmt % 0), "-"))
                for key, _, fmt in COLUMNS)
            print("%-24s %6s %-8s %s" % ("", "", "/" + labels[0][:7], ratios),
                  file=table)
    doc = {"bench": "bench_daemon", "realtime": bool(args.realtime),
           "rounds": args.rounds, "fxd": dict(binaries),
           "results": results, "summary": rows}
    if args.json == "-":
        json.dump(doc, sys.stdout, indent=1)
        print()
    elif args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
