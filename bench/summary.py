#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""summary: one markdown page and PNG plots from bench/results/*.json.

Reads every JSON document in the results folder and recognises them by their
"bench" field: bench_dsp, bench_knob (its --midi run too), bench_daemon,
bench_file, bench_ptime;
any other document with a "results" list gets a generic table. Missing
benches are listed, not an error. Writes RESULTS/summary.md: a table of every
PASS/MISS verdict first, then one section per document with its key numbers
(medians and p99s, ratios). With gnuplot (Debian: gnuplot-nox) it also draws,
next to summary.md:
  dsp_chunk_times.png     bench_dsp per-chunk median and p99 per variant
                          (stereo, 256 frames or the nearest size run)
  knob_latency.png        bench_knob: a histogram of the per-step onsets
                          when the JSON lists them ("onsets_ms"), otherwise
                          onset and midpoint p50/p99 against the target
  daemon_worker_p99.png   bench_daemon worker p99 per chain, period and binary
  file_throughput.png     bench_file x realtime per tool (median and best)
  ptime_speedup.png       bench_ptime speed-up of the parallel filter over
                          the sequential one against the block size
Without gnuplot the page is written without plots and says so.

Usage: summary.py [--results DIR] [--out FILE] [--no-plots]
"""
import argparse
import datetime
import glob
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
KNOWN = ("bench_dsp", "bench_knob", "bench_daemon", "bench_file",
         "bench_ptime")

DSP_LABELS = {
    "a.fx_sos": "a: fx_sos LP 8k o10",
    "a.dfi_baseline": "a: DF-I float baseline",
    "b.fx_sos_7sec": "b: depth-5, one 7-section sos",
    "b.fx_sos_5series": "b: depth-5, 5 sos in series",
    "c.tail_ftz": "c: tail, FTZ+DAZ",
    "c.tail_no_ftz": "c: tail, no FTZ",
    "d.live_rig": "d: live-rig chain",
    "d.reverb": "d: reverb alone",
}
LIVE_RIG_P99_US = 15.0  # bench_dsp.c: the target, stereo 256 frames


# ---- formatting -------------------------------------------------------------

def num(v, digits=3):
    """A number for a table: 3 significant digits, '-' for none."""
    if v is None or isinstance(v, bool):
        return "-" if v is None else ("yes" if v else "no")
    if not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, float) and not math.isfinite(v):
        return "-"
    if isinstance(v, int):
        return str(v)
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 10 ** digits:
        return "%.0f" % v
    if a < 1:
        return "%#.*g" % (digits, v)
    return "%.*f" % (max(0, digits - 1 - int(math.floor(math.log10(a)))), v)


def table(head, rows):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|")
                                     for c in r) + " |")
    return "\n".join(out)


def verdict(ok):
    return "**PASS**" if ok else "**MISS**"


def q(d, *keys):
    """Nested get: q(r, "onset_ms", "p99")."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


# ---- plots ------------------------------------------------------------------

class Plotter:
    def __init__(self, outdir, enabled):
        self.outdir = outdir
        self.gnuplot = shutil.which("gnuplot") if enabled else None
        self.term = None
        self.tmp = None
        self.problems = []
        if self.gnuplot:
            self.tmp = tempfile.mkdtemp(prefix="bench-summary.")
            for term in ("pngcairo size 960,540 font 'DejaVu Sans,10'",
                         "png size 960,540"):
                p = subprocess.run(
                    [self.gnuplot, "-e", "set terminal %s; set output "
                     "'%s'; plot x" % (term, os.path.join(self.tmp, "t.png"))],
                    capture_output=True, text=True)
                if p.returncode == 0:
                    self.term = term
                    break
            if not self.term:
                self.problems.append("gnuplot has neither the pngcairo nor "
                                     "the png terminal")

    @property
    def ok(self):
        return bool(self.gnuplot and self.term)

    def close(self):
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def draw(self, name, data_rows, script):
        """data_rows: lists written space-separated (strings quoted);
        script: gnuplot commands using DATA. Returns the PNG name or None."""
        if not self.ok:
            return None
        data = os.path.join(self.tmp, name + ".dat")
        with open(data, "w") as f:
            for r in data_rows:
                f.write(" ".join(gp_field(c) for c in r) + "\n")
        png = os.path.join(self.outdir, name + ".png")
        full = ("set terminal %s\nset output '%s'\nset termoption "
                "noenhanced\nset datafile missing '-'\nDATA = '%s'\n%s\n"
                % (self.term, png, data, script))
        p = subprocess.run([self.gnuplot], input=full, capture_output=True,
                           text=True)
        if p.returncode != 0 or not os.path.exists(png):
            self.problems.append("%s.png: gnuplot failed: %s" % (
                name, (p.stderr.strip().splitlines() or ["?"])[-1]))
            return None
        return os.path.basename(png)


def gp_field(c):
    if c is None or (isinstance(c, float) and not math.isfinite(c)):
        return "-"
    if isinstance(c, str):
        return '"%s"' % c.replace('"', "'")
    return repr(float(c))


HIST = """set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -25 scale 0 nomirror
set yrange [0:*]
set bmargin 7
"""


# ---- bench_dsp --------------------------------------------------------------

def dsp_section(doc, name, plot, verdicts):
    res = doc.get("results") or []
    lines = ["## bench_dsp: filter kernels and chains per chunk (`%s`)"
             % name, ""]
    cpu = doc.get("cpu") or {}
    lines.append("Mode %s, %s Hz, CPU avx2=%s fma=%s, FTZ+DAZ %s; "
                 "timer overhead %s ns subtracted. Per-chunk times in µs."
                 % (doc.get("mode"), doc.get("sample_rate"),
                    num(cpu.get("avx2")), num(cpu.get("fma")), "on" if doc.get("ftz_daz") else "off",
                    num(q(doc, "timer", "overhead_ns"))))
    if not res:
        return lines + ["", "No results."]
    frames_all = sorted({r["frames"] for r in res})
    frames = 256 if 256 in frames_all else min(
        frames_all, key=lambda f: abs(f - 256))
    chans = sorted({r["channels"] for r in res})
    variants = []
    for r in res:
        if r["variant"] not in variants:
            variants.append(r["variant"])
    at = {(r["variant"], r["frames"], r["channels"]): r for r in res}
    lines += ["", "At %d frames per chunk (deadline %s µs); every frame "
              "size is in the JSON." % (frames, num(1e6 * frames / (
                  doc.get("sample_rate") or 48000))), ""]
    head = ["variant"]
    for c in chans:
        head += ["%d ch median" % c, "%d ch p99" % c]
    head += ["ns/sample-section (2 ch)", "p99 % of deadline (2 ch)"]
    rows = []
    for v in variants:
        row = [DSP_LABELS.get(v, v)]
        for c in chans:
            r = at.get((v, frames, c), {})
            row += [num(r.get("median_us")), num(r.get("p99_us"))]
        r2 = at.get((v, frames, 2), {})
        row += [num(r2.get("ns_per_sample_section")),
                num(r2.get("deadline_pct_p99"))]
        rows.append(row)
    lines.append(table(head, rows))

    sp = [r["speedup_vs_dfi_median"] for r in res
          if r.get("speedup_vs_dfi_median") is not None]
    ftz = [r["ratio_no_ftz_median"] for r in res
           if r.get("ratio_no_ftz_median") is not None]
    ser = []
    for (v, f, c), r in at.items():
        if v == "b.fx_sos_5series" and ("b.fx_sos_7sec", f, c) in at:
            ser.append(r["median_us"] / at[("b.fx_sos_7sec", f, c)]
                       ["median_us"])
    lines.append("")
    if sp:
        lines.append("- Case a, DF-I baseline / fx_sos (medians): %s× to "
                     "%s× over %d configurations." % (
                         num(min(sp)), num(max(sp)), len(sp)))
    if ser:
        lines.append("- Case b, five sos in series / one 7-section sos: %s× "
                     "to %s×." % (num(min(ser)), num(max(ser))))
    if ftz:
        lines.append("- Case c, no FTZ / FTZ+DAZ on a decaying tail "
                     "(medians): %s× to %s×." % (num(min(ftz)),
                                                 num(max(ftz))))
    rig = at.get(("d.live_rig", 256, 2))
    if rig and rig.get("p99_us") is not None:
        ok = rig["p99_us"] <= LIVE_RIG_P99_US
        lines.append("- Live-rig chain, stereo, 256 frames: median %s µs, "
                     "p99 %s µs (target p99 ≤ %g µs): %s." % (
                         num(rig["median_us"]), num(rig["p99_us"]),
                         LIVE_RIG_P99_US, verdict(ok)))
        verdicts.append(("bench_dsp", "live-rig chain p99, stereo 256 "
                         "frames", "%s µs" % num(rig["p99_us"]),
                         "≤ %g µs" % LIVE_RIG_P99_US, ok))
    eng = q(doc, "engine_midi", "results") or []
    if eng:
        lines += ["", "Case e, the engine's worker per chunk with MIDI "
                  "(`%s` on fxd's default chain, stereo); ratio = this / "
                  "0 events in the same run:" % q(doc, "engine_midi",
                                                   "mapping"), ""]
        lines.append(table(
            ["frames", "events/period", "median µs", "p99 µs",
             "median ratio", "p99 ratio", "p99 % of deadline"],
            [[e.get("frames"), e.get("events"), num(e.get("median_us")),
              num(e.get("p99_us")), num(e.get("ratio_median")),
              num(e.get("ratio_p99")), num(e.get("deadline_pct_p99"))]
             for e in eng]))
    acc = doc.get("accuracy") or []
    if acc:
        lines += ["", "Accuracy against a double-precision reference "
                  "(relative RMS error):", ""]
        lines.append(table(
            ["filter", "impl", "fs", "sections", "rel RMS",
             "chunk invariant"],
            [[a.get("filter"), a.get("impl"), num(a.get("fs")),
              num(a.get("sections")), num(a.get("rel_rms")),
              num(a.get("chunk_invariant"))] for a in acc]))

    if plot.ok and 2 in chans:
        data = []
        for v in variants:
            r = at.get((v, frames, 2))
            if r:
                data.append([DSP_LABELS.get(v, v), r.get("median_us"),
                             r.get("p99_us")])
        png = plot.draw(
            "dsp_chunk_times", data, HIST + (
                "set title 'bench_dsp: time per chunk, stereo, %d frames "
                "(lower is better)'\nset ylabel 'µs per chunk'\n"
                "plot DATA using 2:xtic(1) title 'median', '' using 3 "
                "title 'p99'" % frames))
        if png:
            lines += ["", "![bench_dsp per-chunk median and p99](%s)" % png]
    return lines


# ---- bench_knob -------------------------------------------------------------

def knob_midi_section(doc, name, verdicts):
    """bench_knob --midi: CC to the first changed sample, in frames."""
    res = doc.get("results") or []
    lines = ["## bench_knob --midi: MIDI-to-ear from outside fxd (`%s`)"
             % name, ""]
    lines.append("Mode %s, judged %s, `%s`, glide %s ms; frames from the "
                 "CC's frame on fxd:midi_in to the first changed sample of "
                 "fxd:out_1. Target: every step exactly fxd's port latency."
                 % (doc.get("mode"),
                    "while JACK freewheels (exact)"
                    if doc.get("judged_in") == "freewheel"
                    else "in realtime", doc.get("mapping"),
                    num(doc.get("glide_ms"))))
    if not res:
        return lines + ["", "No results."]
    rows = []
    for r in res:
        rerender = r.get("rerender")
        mode = "" if rerender is None else ("on" if rerender else "off")
        rows.append([
            r.get("period"), mode, r.get("steps"), r.get("misses"),
            r.get("unrecorded"), num(q(r, "frames", "p50")),
            num(q(r, "frames", "p99")), num(q(r, "frames", "max")),
            r.get("latency_frames"), r.get("exact"),
            "%s / %s / %s" % (num(q(r, "fxd", "midi_frames_median")),
                              num(q(r, "fxd", "midi_frames_p99")),
                              num(q(r, "fxd", "midi_frames_max"))),
            num(q(r, "fxd", "midi_events")), num(q(r, "fxd", "underflows")),
            verdict(bool(r.get("pass")))])
        verdicts.append(("bench_knob --midi",
                         "CC-to-ear max at -p %s" % r.get("period"),
                         "%s frames" % num(q(r, "frames", "max")),
                         "= %s frames (latency)" % r.get("latency_frames"),
                         bool(r.get("pass"))))
    lines += ["", table(
        ["period", "steps", "misses", "unrecorded", "p50", "p99", "max",
         "latency", "exact", "fxd's own p50 / p99 / max", "fxd events",
         "fxd underflows", "verdict"], rows)]
    return lines


def knob_section(doc, name, plot, verdicts):
    if doc.get("kind") == "midi":
        return knob_midi_section(doc, name, verdicts)
    res = doc.get("results") or []
    lines = ["## bench_knob: knob-to-ear latency from outside fxd (`%s`)"
             % name, ""]
    lines.append("Mode %s, glide %s ms, onset = level %s dB off the old "
                 "one; latencies in ms from the OSC send to the start of "
                 "the JACK period. Target: onset p99 ≤ 1 period + glide "
                 "+ fxd's worker p99 with re-rendering on, 2 periods + glide "
                 "with it off."
                 % (doc.get("mode"), num(doc.get("glide_ms")),
                    num(doc.get("onset_db"))))
    if not res:
        return lines + ["", "No results."]
    rows = []
    for r in res:
        rerender = r.get("rerender")
        mode = "" if rerender is None else ("on" if rerender else "off")
        rows.append([
            r.get("period"), mode, r.get("steps"), r.get("misses"),
            num(q(r, "onset_ms", "p50")), num(q(r, "onset_ms", "p99")),
            num(q(r, "onset_ms", "max")), num(q(r, "onset_periods", "p99")),
            num(q(r, "midpoint_ms", "p50")), num(q(r, "midpoint_ms", "p99")),
            num(r.get("target_ms")), verdict(bool(r.get("pass"))),
            "%s / %s" % (num(q(r, "fxd", "knob_median_ms")),
                         num(q(r, "fxd", "knob_p99_ms"))),
            r.get("jack_xruns"), r.get("glitched_steps")])
        verdicts.append(("bench_knob", "onset p99 at -p %s%s" % (
                             r.get("period"),
                             ", re-render %s" % mode if mode else ""),
                         "%s ms" % num(q(r, "onset_ms", "p99")),
                         "≤ %s ms" % num(r.get("target_ms")),
                         bool(r.get("pass"))))
    lines += ["", table(
        ["period", "re-render", "steps", "misses", "onset p50", "onset p99",
         "onset max",
         "onset p99 (periods)", "midpoint p50", "midpoint p99", "target",
         "verdict", "fxd's own median / p99", "JACK xruns",
         "glitched steps"], rows)]

    if plot.ok:
        steps = [(r.get("period"), r.get("onsets_ms")) for r in res
                 if isinstance(r.get("onsets_ms"), list) and r["onsets_ms"]]
        png = None
        if steps:
            data, cols = [], []
            width = 0.25
            hist = {}
            for i, (p, v) in enumerate(steps):
                cols.append(p)
                for x in v:
                    if isinstance(x, (int, float)):
                        b = round(math.floor(x / width) * width + width / 2,
                                  6)
                        hist.setdefault(b, [0] * len(steps))[i] += 1
            for b in sorted(hist):
                data.append([b] + hist[b])
            plots = ", ".join(
                "DATA using 1:%d with boxes title '-p %s'" % (i + 2, p)
                for i, p in enumerate(cols))
            png = plot.draw(
                "knob_latency", data,
                "set style fill transparent solid 0.5 border -1\n"
                "set boxwidth %g\nset grid ytics\nset title 'bench_knob: "
                "onset latency per step'\nset xlabel 'ms from the OSC "
                "send'\nset ylabel 'steps'\nplot %s" % (width, plots))
        else:
            data = [["-p %s (target %s ms)" % (r.get("period"),
                                              num(r.get("target_ms"))),
                     q(r, "onset_ms", "p50"), q(r, "onset_ms", "p99"),
                     q(r, "midpoint_ms", "p50"), q(r, "midpoint_ms", "p99"),
                     r.get("target_ms")] for r in res]
            png = plot.draw(
                "knob_latency", data, HIST + (
                    "set title 'bench_knob: knob-to-ear latency quantiles "
                    "(the JSON has no per-step onsets)'\nset ylabel 'ms from "
                    "the OSC send'\nset xtics rotate by 0\nset bmargin 4\n"
                    "plot DATA using 2:xtic(1) title 'onset p50', '' using 3 "
                    "title 'onset p99', '' using 4 title 'midpoint p50', '' "
                    "using 5 title 'midpoint p99', '' using 6 title "
                    "'target (onset p99)' lc rgb '#999999'"))
        if png:
            lines += ["", "![bench_knob latency](%s)" % png]
    return lines


# ---- bench_daemon -----------------------------------------------------------

# Figures per case and binary: the median over rounds; counters: the worst.
DAEMON_MEDIANS = ("idle_cpu_pct", "cpu_pct", "callback_median_us",
                  "callback_p99_us", "worker_median_us", "worker_p99_us",
                  "worker_max_us", "dsp_load_pct")
DAEMON_WORST = ("jack_xruns", "underflows", "late_dropped", "nonfinite")
# What the ratio column compares against the first binary.
DAEMON_RATIOS = (("idle_cpu_pct", "idle CPU"), ("worker_p99_us", "worker p99"),
                 ("callback_p99_us", "callback p99"))


def median(values):
    v = sorted(x for x in values if isinstance(x, (int, float))
               and not isinstance(x, bool) and math.isfinite(x))
    if not v:
        return None
    h = len(v) // 2
    return v[h] if len(v) % 2 else (v[h - 1] + v[h]) / 2


def daemon_rows(res):
    """One row per (chain, period, binary), in the order first run: the
    medians over rounds, the worst counters, the probe's verdict."""
    keys = []
    for r in res:
        k = (r.get("chain"), r.get("period"), r.get("fxd") or "fxd")
        if k not in keys:
            keys.append(k)
    rows = []
    for k in keys:
        runs = [r for r in res
                if (r.get("chain"), r.get("period"), r.get("fxd") or "fxd")
                == k]
        row = {"chain": k[0], "period": k[1], "fxd": k[2],
               "rounds": len(runs)}
        for key in DAEMON_MEDIANS:
            row[key] = median(r.get(key) for r in runs)
        for key in DAEMON_WORST:
            got = [r.get(key) for r in runs if isinstance(r.get(key), int)]
            row[key] = max(got) if got else None
        probes = [r.get("probe_latency_ok") for r in runs]
        row["probe_latency_ok"] = (None if all(p is None for p in probes)
                                   else all(p is not False for p in probes))
        rows.append(row)
    return rows


def ratio(a, b):
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) \
            or not b:
        return None
    return a / b


def daemon_section(doc, name, plot, verdicts):
    res = doc.get("results") or []
    lines = ["## bench_daemon: fxd under jackd dummy (`%s`)" % name, ""]
    secs = sorted({r.get("seconds") for r in res if r.get("seconds")})
    idle = sorted({r.get("idle_seconds") for r in res
                   if r.get("idle_seconds")})
    lines.append(
        "Realtime scheduling %s; %s s playing per case, after %s s idle. "
        "Idle CPU: fxd's user + system time while its callbacks run "
        "unconnected, %% of one core (the cost of one instance doing "
        "nothing); CPU while fxd-probe plays through it. Callback and worker "
        "(one chunk of DSP) median and p99 in µs from fxd's /fxd/stats; "
        "worker max, DSP load and the counters from its exit line. With "
        "several rounds: the median over rounds, the worst counters."
        % ("on" if doc.get("realtime") else "off",
           ", ".join(str(s) for s in secs) or "?",
           ", ".join(num(s) for s in idle) or "?"))
    if not res:
        return lines + ["", "No results."]
    rows = daemon_rows(res)
    labels = []
    for r in rows:
        if r["fxd"] not in labels:
            labels.append(r["fxd"])
    several = len(labels) > 1
    base = {(r["chain"], r["period"]): r for r in rows
            if r["fxd"] == labels[0]}
    head = ["chain", "period"] + (["fxd"] if several else []) + [
        "idle CPU %", "CPU % playing", "callback median µs",
        "callback p99 µs", "worker median µs", "worker p99 µs",
        "worker max µs", "DSP load %",
        "JACK xruns", "underflows", "late", "non-finite", "probe latency"]
    if several:
        head.append("vs %s" % labels[0])
    out = []
    for r in rows:
        row = [r["chain"], r["period"]] + ([r["fxd"]] if several else [])
        row += [num(r[k]) for k in DAEMON_MEDIANS]
        row += [num(r[k]) for k in DAEMON_WORST]
        row.append({True: "ok", False: "FAIL", None: "-"}[
            r["probe_latency_ok"]])
        if several:
            b = base.get((r["chain"], r["period"]))
            if r["fxd"] == labels[0] or not b:
                row.append("-")
            else:
                row.append(", ".join(
                    "%s %s×" % (what, num(ratio(r[k], b[k])))
                    for k, what in DAEMON_RATIOS))
        out.append(row)
    lines += ["", table(head, out)]
    for label in labels:
        mine = [r for r in rows if r["fxd"] == label]
        idle_all = [r["idle_cpu_pct"] for r in mine
                    if r["idle_cpu_pct"] is not None]
        if idle_all:
            lines += ["", "Idle CPU per instance%s: %s %% of a core "
                      "(median over %d case(s); %s to %s)." % (
                          " (%s)" % label if several else "",
                          num(median(idle_all)), len(idle_all),
                          num(min(idle_all)), num(max(idle_all)))]
    bad = sum((r.get("underflows") or 0) + (r.get("late_dropped") or 0)
              + (r.get("nonfinite") or 0) for r in res)
    lines += ["", "Underflows + late chunks + non-finite samples over all "
              "runs: %d. JACK xruns on a shared VM's dummy backend are "
              "partly the host's (ENV-NOTES)." % bad]
    failed = ["%s at -p %s" % (r.get("chain"), r.get("period"))
              for r in res if r.get("probe_latency_ok") is False]
    if failed:
        lines.append("fxd-probe found fxd's latency not as reported in %d "
                     "case(s): %s." % (len(failed), "; ".join(failed)))

    if plot.ok:
        chains, series = [], []
        for r in rows:
            if r["chain"] not in chains:
                chains.append(r["chain"])
            if (r["period"], r["fxd"]) not in series:
                series.append((r["period"], r["fxd"]))
        series.sort(key=lambda t: (t[0] or 0, labels.index(t[1])))
        at = {(r["chain"], r["period"], r["fxd"]): r for r in rows}
        data = [[c.split(" (")[0]] + [q(at.get((c, p, f)), "worker_p99_us")
                                     for p, f in series] for c in chains]
        plots = ", ".join("DATA using %d%s title '-p %s%s'" % (
            i + 2, ":xtic(1)" if i == 0 else "", p,
            " " + f if several else "")
            for i, (p, f) in enumerate(series))
        png = plot.draw("daemon_worker_p99", data, HIST + (
            "set title 'bench_daemon: worker p99 per chunk (lower is "
            "better)'\nset ylabel 'µs'\nplot %s" % plots))
        if png:
            lines += ["", "![bench_daemon worker p99](%s)" % png]
    return lines


# ---- bench_file -------------------------------------------------------------

def file_section(doc, name, plot, verdicts):
    res = doc.get("results") or []
    m = doc.get("machine") or {}
    lines = ["## bench_file: offline file processing (`%s`)" % name, ""]
    lines.append(
        "Mode %s: %g s of stereo %s Hz float32 WAV (%s MB), LP+HP chain "
        "(`%s`; sox `%s`), %s interleaved round(s), nproc %s, %s. Load "
        "average %s before, %s after. Wall-clock per process "
        "(read + filter + write); × realtime = audio seconds / wall seconds."
        % (doc.get("mode"), doc.get("audio_seconds") or 0,
           doc.get("sample_rate"),
           num((q(doc, "input", "bytes") or 0) / 1e6),
           q(doc, "chain", "fxfile"), q(doc, "chain", "sox"),
           doc.get("rounds"), doc.get("nproc"), m.get("sox") or "sox",
           num(m.get("loadavg_before")), num(m.get("loadavg_after"))))
    agr = doc.get("agreement") or []
    if agr:
        lines += ["", "Outputs agree (relative RMS difference at the best "
                  "lag; the reference is float64 `sosfilt`):", ""]
        lines.append(table(
            ["output", "against", "lag", "rel RMS", "max abs", "tolerance",
             "agrees"],
            [[a.get("a"), a.get("b"), a.get("lag", "-"),
              num(a.get("rel_rms")), num(a.get("max_abs")),
              "%g" % a["tolerance"] if isinstance(a.get("tolerance"),
                                                   (int, float)) else "-",
              "yes" if a.get("ok") else "**no** " + (a.get("note") or "")]
             for a in agr]))
    rows, data = [], []
    for e in res:
        if "median_s" not in e:
            continue
        rows.append([e.get("label", e["id"]), num(e["median_s"]),
                     num(e["min_s"]), num(e.get("cpu_median_s")),
                     num(e.get("x_realtime_median")),
                     num(e.get("x_realtime_best")),
                     num(e.get("speedup_vs_sox_chain")) + "×"
                     if e.get("speedup_vs_sox_chain") else "-",
                     num(e.get("time_vs_copy")) + "×",
                     num(e.get("x_realtime_filter_only"))])
        data.append([e.get("label", e["id"]), e.get("x_realtime_median"),
                     e.get("x_realtime_best")])
    if rows:
        lines += ["", table(
            ["tool", "median s", "min s", "CPU s", "× realtime (median)",
             "× realtime (best)", "speed-up vs sox chain",
             "time vs plain copy", "× realtime, filter only"], rows)]
    for e in res:
        if e.get("status") != "ok":
            lines.append("")
            lines.append("- %s: %s: %s" % (e["id"], e.get("status"),
                                           e.get("reason", "")))
    tg = doc.get("targets") or []
    if tg:
        lines += ["", "Targets (judged on the medians)%s:" % (
            "; a --quick run is a smoke test, start-up dominates a short "
            "file, so these verdicts do not count" if doc.get("mode") ==
            "quick" else ""), ""]
        for g in tg:
            lines.append("- %s: %s %s× (best runs: %s×; target %s): %s%s"
                         % (g["label"], g["what"], num(g["value"]),
                            num(g.get("value_best")), g["target"],
                            verdict(g["pass"]), " (%s)" % g["note"]
                            if g.get("note") else ""))
            verdicts.append(("bench_file", "%s: %s" % (g["label"], g["what"]),
                             num(g["value"]) + "×", g["target"], g["pass"]))
        for e in res:
            if e["id"].startswith("fxfile") and e.get("time_vs_copy_sync"):
                lines.append("- %s: %s× the time of the sox copy followed "
                             "by `sync` (fxfile fsyncs its output; the "
                             "plain copy does not); not judged." % (
                                 e.get("label"), num(e["time_vs_copy_sync"])))
    elif res:
        lines += ["", "Targets not judged: no fxfile results."]

    if plot.ok and data:
        png = plot.draw("file_throughput", data, HIST + (
            "set title 'bench_file: %s s stereo 48 kHz float WAV, LP+HP "
            "(higher is better)'\nset ylabel '× realtime'\n"
            "plot DATA using 2:xtic(1) title 'median of %s round(s)', '' "
            "using 3 title 'best round', '' using ($0-1.0/6):2:(sprintf("
            "'%%.0f', $2)) with labels offset 0,0.7 notitle"
            % ("%g" % (doc.get("audio_seconds") or 0), doc.get("rounds"))))
        if png:
            lines += ["", "![bench_file throughput](%s)" % png]
    return lines


# ---- bench_ptime -------------------------------------------------------------

def ptime_section(doc, name, plot, verdicts):
    res = [r for r in doc.get("results") or [] if isinstance(r, dict)]
    lines = ["## bench_ptime: parallel-in-time SOS filtering against the "
             "sequential kernel (`%s`)" % name, ""]
    so = doc.get("switch_over_measured")
    lines.append(
        "Mode %s, up to %s threads; one pool run costs %s µs (median). "
        "Switch-over (shortest block from which parallel wins everywhere): "
        "measured %s, compiled in %s. Times per call in µs; speed-up = "
        "sequential median / parallel median." % (
            doc.get("mode"), doc.get("threads_max"),
            num((doc.get("pool_run_median_ns") or float("nan")) / 1e3),
            "not measurable here (parallel never won everywhere)"
            if isinstance(so, int) and so < 0 else num(so),
            num(doc.get("switch_over_compiled"))))
    if not res:
        return lines + ["", "No results."]
    tmax = max(r.get("threads", 1) for r in res)
    chans = sorted({r.get("channels") for r in res})
    at = {(r.get("filter"), r.get("frames"), r.get("channels"),
           r.get("threads")): r for r in res}
    keys = []
    for r in res:
        k = (r.get("filter"), r.get("frames"))
        if k not in keys:
            keys.append(k)
    keys.sort(key=lambda k: (str(k[0]), k[1] or 0))
    head = ["filter", "frames"]
    for c in chans:
        head += ["%s ch seq" % c, "%s ch par %d" % (c, tmax),
                 "%s ch speed-up" % c]
    rows = []
    for f, n in keys:
        row = [f, n]
        for c in chans:
            sq = at.get((f, n, c, 1), {})
            pr = at.get((f, n, c, tmax), {}) if tmax > 1 else {}
            row += [num(sq.get("median_us")), num(pr.get("median_us")),
                    num(pr.get("speedup")) + "×" if pr.get("speedup")
                    else "-"]
        rows.append(row)
    lines += ["", table(head, rows)]

    if plot.ok and tmax > 1:
        series = []
        for f in sorted({k[0] for k in keys}):
            for c in chans:
                series.append((f, c))
        frames = sorted({k[1] for k in keys})
        data = [[n] + [q(at.get((f, n, c, tmax)), "speedup")
                       for f, c in series] for n in frames]
        ups = [v for row in data for v in row[1:]
               if isinstance(v, (int, float))]
        top = max([1.2] + [1.1 * v for v in ups])
        plots = ", ".join(
            "DATA using 1:%d with linespoints title '%s, %s ch'"
            % (i + 2, f, c) for i, (f, c) in enumerate(series))
        png = plot.draw("ptime_speedup", data, (
            "set logscale x 2\nset grid\nset key outside right top\n"
            "set title 'bench_ptime: %d threads against the sequential "
            "kernel (above 1: parallel wins)'\nset xlabel 'frames per "
            "call'\nset ylabel 'speed-up'\nset yrange [0:%g]\n"
            "plot %s, 1 with lines dt 2 lc rgb '#666666' notitle"
            % (tmax, top, plots)))
        if png:
            lines += ["", "![bench_ptime speed-up](%s)" % png]
    return lines


# ---- anything else (new benches) ---------------------------------------------

def flatten(r):
    out = {}
    for k, v in r.items():
        if isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
        elif isinstance(v, dict):
            for kk, vv in v.items():
                if isinstance(vv, (int, float, bool)) and kk in (
                        "p50", "p99", "median", "max", "min", "mean",
                        "p999", "count"):
                    out["%s.%s" % (k, kk)] = vv
    return out


def generic_section(doc, name, plot, verdicts):
    bench = doc.get("bench", "?")
    lines = ["## %s (`%s`)" % (bench, name), ""]
    top = [(k, v) for k, v in doc.items()
           if k != "bench" and isinstance(v, (int, float, str, bool))]
    if top:
        lines.append("; ".join("%s: %s" % (k, num(v)) for k, v in top[:12]))
    res = doc.get("results")
    if isinstance(res, list) and res and all(isinstance(r, dict)
                                             for r in res):
        flat = [flatten(r) for r in res]
        cols = []
        for f in flat:
            for k in f:
                if k not in cols:
                    cols.append(k)
        cols = cols[:16]
        lines += ["", table(cols, [[num(f.get(c)) for c in cols]
                                   for f in flat])]
        for r in res:
            if isinstance(r.get("pass"), bool):
                keys = [k for k in ("name", "case", "variant", "impl",
                                    "device", "chain", "threads", "period",
                                    "frames", "channels") if k in r]
                what = ", ".join("%s %s" % (k, r[k])
                                 for k in keys[:3]) or "result"
                verdicts.append((bench, what, "-", r.get("target", "-"),
                                 r["pass"]))
    for g in doc.get("targets") or []:
        if isinstance(g, dict) and isinstance(g.get("pass"), bool):
            verdicts.append((bench, g.get("what") or g.get("name") or "-",
                             num(g.get("value")), g.get("target", "-"),
                             g["pass"]))
    return lines


SECTIONS = {"bench_dsp": dsp_section, "bench_knob": knob_section,
            "bench_daemon": daemon_section, "bench_file": file_section,
            "bench_ptime": ptime_section}
ALIASES = {"ptime": "bench_ptime", "dsp": "bench_dsp", "knob": "bench_knob",
           "daemon": "bench_daemon", "file": "bench_file"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--out", default=None,
                    help="markdown file (default RESULTS/summary.md)")
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args()
    out = args.out or os.path.join(args.results, "summary.md")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    plot = Plotter(os.path.dirname(os.path.abspath(out)),
                   not args.no_plots)
    # Plots of an earlier run must not pass for this one's.
    for old in ("dsp_chunk_times", "knob_latency", "daemon_worker_p99",
                "file_throughput", "ptime_speedup"):
        p = os.path.join(os.path.dirname(os.path.abspath(out)), old + ".png")
        if os.path.exists(p):
            os.unlink(p)

    docs, unreadable = [], []
    for path in sorted(glob.glob(os.path.join(args.results, "*.json"))):
        try:
            with open(path) as f:
                d = json.load(f)
            if not isinstance(d, dict) or "bench" not in d:
                raise ValueError("no \"bench\" field")
            d["bench"] = ALIASES.get(d["bench"], d["bench"])
            docs.append((os.path.basename(path), d,
                         os.path.getmtime(path)))
        except (OSError, ValueError) as e:
            unreadable.append("%s: %s" % (os.path.basename(path), e))

    verdicts, body = [], []
    order = {b: i for i, b in enumerate(KNOWN)}
    docs.sort(key=lambda t: (order.get(t[1]["bench"], len(KNOWN)), t[0]))
    for name, d, mtime in docs:
        fn = SECTIONS.get(d["bench"], generic_section)
        try:
            sec = fn(d, name, plot, verdicts)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
            sec = ["## %s (`%s`)" % (d["bench"], name), "",
                   "Could not summarise this file: %s: %s"
                   % (type(e).__name__, e)]
        when = datetime.datetime.fromtimestamp(mtime).strftime(
            "%Y-%m-%d %H:%M")
        sec.insert(1, "")
        sec.insert(2, "_Written %s._" % when)
        body += sec + [""]

    shown = os.path.relpath(args.results)
    if shown.startswith(".."):
        shown = os.path.abspath(args.results)
    lines = ["# fxd benchmark summary", ""]
    lines.append("Made by `bench/summary.py` on %s from %d JSON file(s) in "
                 "`%s`. The machines these run on are shared and noisy: "
                 "compare ratios within one run, and read medians and p99s, "
                 "not single runs." % (
                     datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
                     len(docs), shown))
    present = {d["bench"] for _, d, _ in docs}
    missing = [b for b in KNOWN if b not in present]
    if missing:
        lines += ["", "Not in this run: %s." % ", ".join(missing)]
    if unreadable:
        lines += ["", "Not read: %s." % "; ".join(unreadable)]
    lines += ["", "## Verdicts", ""]
    if verdicts:
        lines.append(table(["bench", "what", "value", "target", "verdict"],
                           [[b, w, v, t, verdict(ok)]
                            for b, w, v, t, ok in verdicts]))
        np_ = sum(1 for v in verdicts if v[4])
        lines += ["", "%d PASS, %d MISS." % (np_, len(verdicts) - np_)]
    else:
        lines.append("No targets were judged.")
    lines.append("")
    if not plot.gnuplot and not args.no_plots:
        lines += ["No plots: gnuplot is not installed (Debian: "
                  "gnuplot-nox).", ""]
    elif args.no_plots:
        lines += ["No plots (--no-plots).", ""]
    for p in plot.problems:
        lines += ["Plot problem: %s" % p, ""]
    lines += body
    with open(out, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    plot.close()
    print("summary: %s (%d file(s)%s)" % (
        out, len(docs), "" if plot.ok else ", no plots"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
