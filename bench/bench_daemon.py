#!/usr/bin/env python3
"""bench_daemon: fxd against a private jackd dummy server.

For each period (64, 128, 256 frames) and each bench_dsp chain it starts
`jackd -d dummy`, starts fxd on the chain, plays a test signal through it
with fxd-probe, stops fxd and reads the statistics fxd logs at exit: callback
p99, worker p99, DSP load, JACK xruns, underflows and late chunks. Prints a
table and JSON (--json FILE, or - for stdout with the table on stderr).

Usage: bench_daemon.py [--seconds N] [--quick] [--periods 64,128,256]
                       [--json FILE] [--fxd PATH] [--probe PATH]
"""
import argparse
import json
import os
import re
import signal
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


def run_one(args, period, chain, tmp):
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
        cmd = [args.fxd, "-n", "fxd", "-v", "--osc-port", "0"] + ([chain] if chain else [])
        with open(flog_path, "w") as flog:
            fxd = subprocess.Popen(cmd, stderr=flog, env=env)
        wait_for(lambda: "ready:" in open(flog_path).read(), 10, "fxd")
        probe = subprocess.run(
            [args.probe, "--target", "fxd", "--seconds", str(args.seconds)],
            capture_output=True, text=True, env=env)
        stop(fxd)
        log = open(flog_path).read()
        m = STATS.search(log)
        if not m:
            raise RuntimeError("no exit statistics in fxd's log:\n" + log)
        v = m.groups()
        return {
            "period": period, "seconds": args.seconds,
            "callbacks": int(v[0]), "chunks": int(v[1]),
            "dsp_load_pct": float(v[2]),
            "callback_p99_us": 1e3 * float(v[3]),
            "worker_p99_us": 1e3 * float(v[4]),
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--quick", action="store_true",
                    help="3 s per case instead of 60")
    ap.add_argument("--json", default=None)
    ap.add_argument("--periods", default="64,128,256",
                    help="comma-separated periods (default 64,128,256)")
    ap.add_argument("--realtime", type=int, default=int(os.geteuid() == 0),
                    help="1: jackd with realtime scheduling (default as root)")
    ap.add_argument("--fxd", default=os.path.join(HERE, "..", "daemon", "fxd"))
    ap.add_argument("--probe",
                    default=os.path.join(HERE, "..", "clients", "fxd-probe"))
    args = ap.parse_args()
    if args.quick:
        args.seconds = 3
    table = sys.stderr if args.json == "-" else sys.stdout
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, chain in CHAINS.items():
            for period in [int(p) for p in args.periods.split(",")]:
                r = run_one(args, period, chain, tmp)
                r["chain"] = name
                results.append(r)
    head = ("chain", "period", "cb p99 us", "wk p99 us", "load %",
            "xruns", "underfl", "late", "probe")
    print("%-24s %6s %10s %10s %7s %6s %8s %5s %6s" % head, file=table)
    for r in results:
        print("%-24s %6d %10.1f %10.1f %7.2f %6d %8d %5d %6s" % (
            r["chain"], r["period"], r["callback_p99_us"],
            r["worker_p99_us"], r["dsp_load_pct"], r["jack_xruns"],
            r["underflows"], r["late_dropped"],
            {True: "ok", False: "FAIL", None: "-"}[r["probe_latency_ok"]]),
            file=table)
    doc = {"bench": "bench_daemon", "realtime": bool(args.realtime),
           "results": results}
    if args.json == "-":
        json.dump(doc, sys.stdout, indent=1)
        print()
    elif args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
