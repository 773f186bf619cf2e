#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""bench_file: offline file processing, fxfile against sox, scipy and TorchFX.

Generates a stereo 48 kHz float32 WAV (10 minutes; 1 with --quick) of seeded
noise and tones, runs the LP+HP chain over it with every tool, checks that
the outputs agree, then times the tools in one run with interleaved rounds:

  fxfile_t1     fxfile --threads 1 -c 'hpf:highpass cutoff=80 order=2 |
                lpf:lowpass cutoff=8000 order=2' IN OUT
  fxfile_tN     the same with --threads $(nproc)
  sox_chain     sox -D IN -e floating-point -b 32 OUT highpass 80 lowpass 8000
                (sox's highpass/lowpass: 2-pole biquads, Q 0.707 by default)
  sox_copy      sox -D IN -e floating-point -b 32 OUT: the I/O floor
  sox_copy_sync the same, then `sync OUT`: the floor for a tool that, like
                fxfile, fsyncs its output (shown, not judged)
  scipy         /usr/bin/python3: scipy.io.wavfile read, scipy.signal.sosfilt
                on the same SOS (scipy's butter, as fxd designs it), write
  torchfx       TorchFX 0.8 (Wave.from_file | HiButterworth(80, order=2) |
                LoButterworth(8000, order=2), save), from a virtualenv that
                pip fills from the Python package index; skipped, with a line
                saying why, when it cannot be installed

Every run is a separate process, timed wall-clock from start to exit
(read + filter + write, interpreter start-up included for scipy and
TorchFX, whose filter-only time is reported too). The input sits in the page
cache; before each run the previous output is deleted and `sync` flushes
dirty pages, untimed. The first (warm-up) run of each tool is not timed: its
output is the one checked for agreement. Then ROUNDS rounds run every tool
once, the order rotating each round, so the shared machine's noise hits all
tools alike. Reported per tool: median and min wall time, median CPU time
(user+sys), x realtime (audio seconds / wall seconds) from the median and
from the min, and, from the medians, the speed-up over the sox chain and the
time as a multiple of the plain copy's.

Agreement: relative RMS difference rms(a - b) / rms(b), all channels, after
aligning by the lag (within +-64 samples) that minimises it. The sox chain
must agree with fxfile --threads 1 to < 1e-3 for the sox ratio to count.
Each output is also compared with a float64 sosfilt reference.

Targets (from the medians): fxfile at least 3x faster than the sox chain,
and at most 1.3x the plain copy's time. PASS/MISS per fxfile variant.

Usage: bench_file.py [--quick] [--rounds N] [--seconds S] [--fxfile PATH]
                     [--threads N] [--json FILE|-] [--results DIR]
                     [--keep DIR] [--torchfx auto|install|skip]
                     [--venv DIR] [--pip-timeout S]
  --json - writes the JSON to stdout and the table to stderr. --results DIR
  writes DIR/file.json (unless --json names a file). --keep DIR writes the
  input (reused when present with the same size) and the last outputs there
  instead of a temporary directory. --torchfx auto installs TorchFX into
  --venv (default ~/.cache/fxd-bench/torchfx-0.8) in a full run and only
  uses an existing one with --quick. Exit 0 when it ran, whatever the
  verdicts; 1 when the input or the sox floor could not be made.
"""
import argparse
import importlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
FS = 48000
CHANNELS = 2
SEED = 20240611
HP_HZ, LP_HZ = 80.0, 8000.0
FXFILE_SPEC = ("hpf:highpass cutoff=80 order=2 | "
               "lpf:lowpass cutoff=8000 order=2")
SOX_CHAIN = ["highpass", "80", "lowpass", "8000"]
SOX_FLOAT = ["-e", "floating-point", "-b", "32"]
TORCHFX_REQ = "torchfx==0.8.*"
# torchfx 0.8.0's native extension was built against torch 2.12 (wheel of
# 2026-06-26) and asks only for torch>=2.6; with a newer torch its CPU
# tensors test as CUDA ("CUDA extension not compiled"), so pin the ABI.
TORCH_REQ = "torch==2.12.*"
AGREE_TOL = 1e-3
TARGET_SOX = 3.0   # fxfile at least this many times faster than sox chain
TARGET_COPY = 1.3  # fxfile at most this multiple of the plain copy's time
MAX_LAG = 64

TORCHFX_WORKER = r'''
import json, sys, time
t0 = time.perf_counter()
import torch
import importlib.metadata as md
from torchfx import Wave
from torchfx.filter import HiButterworth, LoButterworth
t1 = time.perf_counter()
w = Wave.from_file(sys.argv[1])
t2 = time.perf_counter()
y = w | HiButterworth(%r, order=2) | LoButterworth(%r, order=2)
y.ys  # the pipeline is lazy: run the (fused) filters now
t3 = time.perf_counter()
y.save(sys.argv[2], encoding="PCM_F", bits_per_sample=32)
t4 = time.perf_counter()
try:
    import torchfx
    native = bool(torchfx.is_native_available())
except Exception:
    native = None
print(json.dumps({"import_s": t1 - t0, "read_s": t2 - t1, "filter_s": t3 - t2,
                  "write_s": t4 - t3, "torch": torch.__version__,
                  "torchfx": md.version("torchfx"), "native_ext": native,
                  "torch_threads": torch.get_num_threads(),
                  "dtype": str(w.ys.dtype), "device": str(w.ys.device)}))
''' % (HP_HZ, LP_HZ)


def log(*a):
    print(*a, file=TABLE, flush=True)


def sos_chain():
    """HP 80 Hz then LP 8 kHz, order 2 each: scipy's butter, as fxd designs."""
    import numpy as np
    from scipy import signal
    return np.vstack([
        signal.butter(2, HP_HZ, "highpass", fs=FS, output="sos"),
        signal.butter(2, LP_HZ, "lowpass", fs=FS, output="sos")])


# ---- the scipy tool, run as its own process ------------------------------

def scipy_worker(inp, out):
    t0 = time.perf_counter()
    import numpy as np
    from scipy import signal
    from scipy.io import wavfile
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fs, x = wavfile.read(inp)
    t2 = time.perf_counter()
    sos = np.vstack([
        signal.butter(2, HP_HZ, "highpass", fs=fs, output="sos"),
        signal.butter(2, LP_HZ, "lowpass", fs=fs, output="sos")])
    y = signal.sosfilt(sos, x, axis=0).astype(np.float32)
    t3 = time.perf_counter()
    wavfile.write(out, fs, y)
    t4 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "read_s": t2 - t1,
                      "filter_s": t3 - t2, "write_s": t4 - t3,
                      "scipy": __import__("scipy").__version__,
                      "numpy": np.__version__, "dtype_in": str(x.dtype)}))
    return 0


# ---- input ----------------------------------------------------------------

def make_input(path, seconds):
    """Seeded noise plus tones below, in and above the passband: about
    -18 dBFS RMS, peaks near 0.6, so sox's 32-bit integers never clip."""
    import numpy as np
    from scipy.io import wavfile
    n = int(seconds * FS)
    rng = np.random.default_rng(SEED)
    x = np.empty((n, CHANNELS), dtype=np.float32)
    block = 1 << 20
    tones = [(30.0, 0.05), (80.0, 0.05), (440.0, 0.08), (1000.0, 0.05),
             (8000.0, 0.04), (15000.0, 0.04)]
    for start in range(0, n, block):
        m = min(block, n - start)
        t = (start + np.arange(m)) / FS
        for ch in range(CHANNELS):
            v = 0.08 * rng.standard_normal(m)
            for k, (f, a) in enumerate(tones):
                v += a * np.sin(2 * np.pi * f * t + 0.7 * k + 1.3 * ch)
            x[start:start + m, ch] = v
    wavfile.write(path, FS, x)
    return float(np.sqrt(np.mean(x[: min(n, 10 * FS)].astype(np.float64) ** 2)))


def read_wav(path):
    """(N, C) float array of a float WAV; scipy first, sox as the fallback
    for headers scipy does not read."""
    import numpy as np
    from scipy.io import wavfile
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fs, x = wavfile.read(path, mmap=True)
        if x.ndim == 1:
            x = x[:, None]
        return fs, x
    except Exception:
        info = subprocess.run(["soxi", "-r", path], capture_output=True,
                              text=True)
        chans = subprocess.run(["soxi", "-c", path], capture_output=True,
                               text=True)
        raw = subprocess.run(["sox", "-D", path, "-t", "raw"] + SOX_FLOAT
                             + ["-"], capture_output=True, check=True).stdout
        c = int(chans.stdout)
        return int(float(info.stdout)), np.frombuffer(
            raw, dtype=np.float32).reshape(-1, c)


def rel_rms(a, b, lag=0):
    """rms(a - b) / rms(b) with a shifted by lag samples against b."""
    import numpy as np
    if lag > 0:
        a, b = a[lag:], b[: len(b) - lag]
    elif lag < 0:
        a, b = a[: len(a) + lag], b[-lag:]
    n = min(len(a), len(b))
    num = den = 0.0
    step = 1 << 20
    for s in range(0, n, step):
        aa = np.asarray(a[s:s + step], dtype=np.float64)
        bb = np.asarray(b[s:s + step], dtype=np.float64)
        num += float(np.sum((aa - bb) ** 2))
        den += float(np.sum(bb ** 2))
    return float(np.sqrt(num / den)) if den > 0 else float("nan")


def max_abs_diff(a, b, lag):
    import numpy as np
    if lag > 0:
        a, b = a[lag:], b[: len(b) - lag]
    elif lag < 0:
        a, b = a[: len(a) + lag], b[-lag:]
    n = min(len(a), len(b))
    m = 0.0
    step = 1 << 20
    for s in range(0, n, step):
        d = np.abs(np.asarray(a[s:s + step], dtype=np.float64)
                   - np.asarray(b[s:s + step], dtype=np.float64))
        m = max(m, float(d.max()) if d.size else 0.0)
    return m


def compare(name_a, a, name_b, b, tol):
    """Agreement of a against b: best lag on a 5 s excerpt, then the whole
    file at that lag."""
    res = {"a": name_a, "b": name_b, "tolerance": tol}
    if a.shape[1] != b.shape[1]:
        res.update(ok=False, note="channels %d vs %d" % (a.shape[1],
                                                          b.shape[1]))
        return res
    res["frames_a"], res["frames_b"] = int(len(a)), int(len(b))
    s0 = min(len(a), len(b)) // 3
    ex = min(5 * FS, max(0, min(len(a), len(b)) - s0 - MAX_LAG))
    best = (float("inf"), 0)
    if ex > 1000:
        bb = b[s0:s0 + ex]
        for lag in range(-MAX_LAG, MAX_LAG + 1):
            aa = a[s0 + lag:s0 + lag + ex]
            r = rel_rms(aa, bb)
            if r < best[0]:
                best = (r, lag)
    lag = best[1]
    r = rel_rms(a, b, lag)
    res.update(lag=lag, rel_rms=r, max_abs=max_abs_diff(a, b, lag),
               ok=bool(r < tol) and len(a) == len(b))
    if len(a) != len(b):
        res["note"] = "lengths differ"
    return res


# ---- tools ----------------------------------------------------------------

class Tool:
    def __init__(self, tid, label, cmd, worker=False):
        self.id, self.label, self.cmd = tid, label, cmd
        self.worker = worker  # prints JSON timings on stdout
        self.status, self.reason = "ok", None
        self.wall, self.cpu, self.inner = [], [], []
        self.version = None

    def run(self, out):
        if os.path.exists(out):
            os.unlink(out)
        os.sync()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run(self.cmd(out), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        t1 = time.perf_counter()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0 or not os.path.exists(out):
            tail = (p.stderr or p.stdout or "").strip().splitlines()[-3:]
            raise RuntimeError("exit %d: %s" % (p.returncode,
                                                " / ".join(tail) or "no output"))
        inner = None
        if self.worker:
            try:
                inner = json.loads(p.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                raise RuntimeError("no timings from the worker: "
                                   + (p.stdout + p.stderr)[-300:])
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        return t1 - t0, cpu, inner


def median(v):
    s = sorted(v)
    n = len(s)
    if not n:
        return float("nan")
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def setup_torchfx(args):
    """The venv's python, or (None, why)."""
    py = os.path.join(args.venv, "bin", "python")
    # Imports and runs a filter: a torch it was not built against imports
    # fine and fails only then.
    check = [py, "-c", "import importlib.metadata as m, torch\n"
             "from torchfx import Wave\n"
             "from torchfx.filter import HiButterworth\n"
             "(Wave(torch.zeros(2, 480), 48000) | HiButterworth(80, order=2))"
             ".ys\n"
             "print(m.version('torchfx'))"]

    def usable():
        """(version or None, why not)"""
        if not os.path.exists(py):
            return None, "no virtualenv at %s" % args.venv
        p = subprocess.run(check, capture_output=True, text=True)
        v = p.stdout.strip()
        if p.returncode == 0 and v.startswith("0.8"):
            return v, None
        if p.returncode == 0:
            return None, "torchfx %s, not 0.8, in %s" % (v, args.venv)
        tail = [l for l in p.stderr.strip().splitlines()
                if l.strip() and not l.startswith("frame #")]
        return None, "the TorchFX in %s fails: %s" % (
            args.venv, (tail or ["?"])[-1][:300])

    if args.torchfx == "skip":
        return None, "--torchfx skip"
    v, why = usable()
    if v:
        return py, None
    if args.torchfx == "auto" and args.quick:
        return None, ("%s (--quick does not install it; a full run or "
                      "--torchfx install does)" % why)
    log("torchfx: installing %s into %s (pip, timeout %d s)..."
        % (TORCHFX_REQ, args.venv, args.pip_timeout))
    t0 = time.monotonic()
    try:
        if not os.path.exists(py):
            subprocess.run([args.python, "-m", "venv", args.venv],
                           capture_output=True, text=True, check=True,
                           timeout=120)
        p = subprocess.run(
            [py, "-m", "pip", "install", "--disable-pip-version-check",
             "--retries", "1", "--timeout", "20", "-q", TORCHFX_REQ,
             TORCH_REQ],
            capture_output=True, text=True, timeout=args.pip_timeout)
    except subprocess.TimeoutExpired:
        return None, "pip install %s %s timed out after %d s" % (
            TORCHFX_REQ, TORCH_REQ, args.pip_timeout)
    except subprocess.CalledProcessError as e:
        tail = (e.stderr or "").strip().splitlines()
        return None, "python3 -m venv failed: " + (tail[-1] if tail
                                                    else "exit %d"
                                                    % e.returncode)
    except OSError as e:
        return None, "cannot create the virtualenv: %s" % e
    if p.returncode != 0:
        lines = [l for l in (p.stderr or p.stdout).strip().splitlines()
                 if l.strip()]
        why = next((l for l in reversed(lines) if "ERROR" in l),
                   lines[-1] if lines else "no output")
        net = ("NewConnectionError", "Failed to establish", "unreachable",
               "Temporary failure in name resolution", "timed out")
        if any(n in l for l in lines for n in net):
            why = "cannot reach the package index (no network?): " + why
        return None, "pip install %s %s failed: %s" % (
            TORCHFX_REQ, TORCH_REQ, why.strip()[:300])
    log("torchfx: installed in %.0f s" % (time.monotonic() - t0))
    v, why = usable()
    if not v:
        return None, "installed, but " + why
    return py, None


# ---- main -----------------------------------------------------------------

def main():
    global TABLE
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="1-minute file, 1 round (a smoke test)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="timed rounds (default 5, --quick 1)")
    ap.add_argument("--seconds", type=float, default=None,
                    help="audio length (default 600, --quick 60)")
    ap.add_argument("--fxfile",
                    default=os.path.normpath(
                        os.path.join(HERE, "..", "clients", "fxfile")))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="threads for the multithread fxfile run "
                    "(default: nproc)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--results", default=None,
                    help="write RESULTS/file.json")
    ap.add_argument("--keep", default=None, metavar="DIR",
                    help="work in DIR and keep the files")
    ap.add_argument("--torchfx", choices=("auto", "install", "skip"),
                    default="auto")
    ap.add_argument("--venv", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME",
                       os.path.join(os.path.expanduser("~"), ".cache")),
        "fxd-bench", "torchfx-0.8"))
    ap.add_argument("--pip-timeout", type=int, default=900)
    ap.add_argument("--python", default="/usr/bin/python3"
                    if os.path.exists("/usr/bin/python3") else sys.executable,
                    help="python with numpy and scipy (default "
                    "/usr/bin/python3)")
    ap.add_argument("--worker-scipy", nargs=2, metavar=("IN", "OUT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker_scipy:
        return scipy_worker(*args.worker_scipy)

    TABLE = sys.stderr if args.json == "-" else sys.stdout
    seconds = args.seconds or (60.0 if args.quick else 600.0)
    rounds = args.rounds or (1 if args.quick else 5)
    json_path = args.json
    if args.results and not json_path:
        os.makedirs(args.results, exist_ok=True)
        json_path = os.path.join(args.results, "file.json")

    try:
        for mod in ("numpy", "scipy.signal", "scipy.io.wavfile"):
            importlib.import_module(mod)
    except ImportError as e:
        print("bench_file: needs numpy and scipy (run it with "
              "/usr/bin/python3): %s" % e, file=sys.stderr)
        return 1
    if not shutil.which("sox"):
        print("bench_file: sox is not installed", file=sys.stderr)
        return 1

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        work, tmp = args.keep, None
    else:
        tmp = tempfile.mkdtemp(prefix="bench_file.")
        work = tmp
    try:
        return run(args, work, seconds, rounds, json_path)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, work, seconds, rounds, json_path):
    import numpy as np
    from scipy import signal

    frames = int(seconds * FS)
    inp = os.path.join(work, "in-%ds.wav" % round(seconds))
    want_size = frames * CHANNELS * 4
    t0 = time.monotonic()
    reused = (os.path.exists(inp) and abs(os.path.getsize(inp) - want_size)
              < 4096)
    if not reused:
        make_input(inp, seconds)
    gen_s = time.monotonic() - t0
    size = os.path.getsize(inp)
    log("bench_file: %s run, %.0f s stereo %d Hz float32 WAV (%.1f MB, %s "
        "in %.1f s), LP+HP chain, %d round%s interleaved, nproc %d"
        % ("quick" if args.quick else "full", seconds, FS, size / 1e6,
           "reused" if reused else "generated", gen_s, rounds,
           "" if rounds == 1 else "s", os.cpu_count() or 1))

    # The tools.
    tools, skipped = [], {}
    fxfile = os.path.abspath(args.fxfile)
    if os.access(fxfile, os.X_OK):
        for tid, n in (("fxfile_t1", 1), ("fxfile_tN", args.threads)):
            tools.append(Tool(
                tid, "fxfile --threads %d" % n,
                lambda out, n=n: [fxfile, "--threads", str(n), "-q",
                                  "--force", "-c", FXFILE_SPEC, inp, out]))
    else:
        why = "not built: %s" % args.fxfile
        skipped["fxfile_t1"] = skipped["fxfile_tN"] = why
        log("fxfile: skipped: " + why)
    tools.append(Tool("sox_chain", "sox highpass 80 lowpass 8000",
                      lambda out: ["sox", "-D", inp] + SOX_FLOAT + [out]
                      + SOX_CHAIN))
    tools.append(Tool("sox_copy", "sox copy to float WAV (I/O floor)",
                      lambda out: ["sox", "-D", inp] + SOX_FLOAT + [out]))
    # fxfile fsyncs its output before renaming it into place; sox does not.
    # This row shows what durability costs on this disk (no target).
    tools.append(Tool("sox_copy_sync", "sox copy, then sync OUT",
                      lambda out: ["sh", "-c", 'sox -D "$1" -e floating-point'
                                   ' -b 32 "$2" && sync "$2"', "sh", inp,
                                   out]))
    tools.append(Tool("scipy", "scipy sosfilt (/usr/bin/python3)",
                      lambda out: [args.python, os.path.abspath(__file__),
                                   "--worker-scipy", inp, out], worker=True))
    tfx_py, why = setup_torchfx(args)
    if tfx_py:
        script = os.path.join(work, "torchfx_worker.py")
        with open(script, "w") as f:
            f.write(TORCHFX_WORKER)
        tools.append(Tool("torchfx", "TorchFX 0.8 (CPU, %d threads)"
                          % (os.cpu_count() or 1),
                          lambda out: [tfx_py, script, inp, out],
                          worker=True))
    else:
        skipped["torchfx"] = why
        log("torchfx: skipped: " + why)
    sox_v = subprocess.run(["sox", "--version"], capture_output=True,
                           text=True).stdout.strip()
    sox_v = sox_v.split(":", 1)[-1].strip() or "sox"

    def out_of(t):
        return os.path.join(work, "out-%s.wav" % t.id)

    # Warm-up: one untimed run each; these outputs are checked.
    for t in list(tools):
        try:
            _, _, inner = t.run(out_of(t))
            if inner:
                t.version = {k: v for k, v in inner.items()
                             if not k.endswith("_s")}
        except RuntimeError as e:
            t.status, t.reason = "failed", str(e)
            log("%s: failed: %s" % (t.id, e))
    byid = {t.id: t for t in tools if t.status == "ok"}
    if "sox_copy" not in byid:
        print("bench_file: the sox copy failed: %s"
              % next(t.reason for t in tools if t.id == "sox_copy"),
              file=sys.stderr)
        return 1

    # Agreement.
    _, x = read_wav(inp)
    sos = sos_chain()
    ref = signal.sosfilt(sos, np.asarray(x, dtype=np.float64), axis=0)
    outs = {tid: read_wav(out_of(t))[1] for tid, t in byid.items()}
    agreement = []
    if "fxfile_t1" in outs and "sox_chain" in outs:
        agreement.append(compare("sox_chain", outs["sox_chain"], "fxfile_t1",
                                 outs["fxfile_t1"], AGREE_TOL))
    if "fxfile_tN" in outs and "fxfile_t1" in outs:
        agreement.append(compare("fxfile_tN", outs["fxfile_tN"], "fxfile_t1",
                                 outs["fxfile_t1"], AGREE_TOL))
    for tid in ("fxfile_t1", "fxfile_tN", "sox_chain", "scipy", "torchfx"):
        if tid in outs:
            agreement.append(compare(tid, outs[tid], "reference", ref,
                                     AGREE_TOL))
    # sox works in 32-bit integers: a float copy is exact only to ~1e-7.
    agreement.append(compare("sox_copy", outs["sox_copy"], "input", x,
                             1e-6))
    del outs, ref, x
    log("")
    log("agreement: relative RMS difference rms(a-b)/rms(b) at the best lag "
        "(reference: float64 sosfilt)")
    for a in agreement:
        log("  %-10s vs %-10s  lag %3s  rel RMS %-10s max |a-b| %-10s %s"
            % (a["a"], a["b"], a.get("lag", "-"),
               "%.3g" % a["rel_rms"] if "rel_rms" in a else "-",
               "%.3g" % a["max_abs"] if "max_abs" in a else "-",
               ("ok (< %g)" % a["tolerance"]) if a["ok"]
               else "DISAGREE " + a.get("note", "(>= %g)" % a["tolerance"])))
    sox_agrees = next((a["ok"] for a in agreement
                       if a["a"] == "sox_chain" and a["b"] == "fxfile_t1"),
                      None)

    # Timed rounds, order rotating.
    timed = [t for t in tools if t.status == "ok"]
    load0 = os.getloadavg()
    for r in range(rounds):
        k = r % len(timed)
        for t in timed[k:] + timed[:k]:
            if t.status != "ok":
                continue
            try:
                wall, cpu, inner = t.run(out_of(t))
            except RuntimeError as e:
                t.status, t.reason = "failed", "round %d: %s" % (r + 1, e)
                log("%s: failed: %s" % (t.id, t.reason))
                continue
            t.wall.append(wall)
            t.cpu.append(cpu)
            if inner:
                t.inner.append(inner)
    load1 = os.getloadavg()

    # Results.
    med = {t.id: median(t.wall) for t in timed if t.wall}
    mins = {t.id: min(t.wall) for t in timed if t.wall}
    per_round = {t.id: t.wall for t in timed if t.wall}
    results = []
    for t in tools:
        e = {"id": t.id, "label": t.label, "status": t.status}
        if t.reason:
            e["reason"] = t.reason
        if t.version:
            e["versions"] = t.version
        if t.wall:
            m, lo = median(t.wall), min(t.wall)
            e.update(runs=len(t.wall), wall_s=t.wall, median_s=m, min_s=lo,
                     cpu_median_s=median(t.cpu),
                     x_realtime_median=seconds / m,
                     x_realtime_best=seconds / lo)
            if "sox_chain" in med:
                e["speedup_vs_sox_chain"] = med["sox_chain"] / m
                if len(per_round["sox_chain"]) == len(t.wall):
                    pr = [s / w for s, w in zip(per_round["sox_chain"],
                                                t.wall)]
                    e["speedup_vs_sox_chain_per_round"] = pr
            e["time_vs_copy"] = m / med["sox_copy"]
            if "sox_copy_sync" in med:
                e["time_vs_copy_sync"] = m / med["sox_copy_sync"]
            if len(per_round["sox_copy"]) == len(t.wall):
                e["time_vs_copy_per_round"] = [
                    w / c for w, c in zip(t.wall, per_round["sox_copy"])]
            if t.inner:
                for k in ("import_s", "read_s", "filter_s", "write_s"):
                    e[k.replace("_s", "_median_s")] = median(
                        [i[k] for i in t.inner])
                e["x_realtime_filter_only"] = seconds / e["filter_median_s"]
        results.append(e)
    for tid, why in skipped.items():
        results.append({"id": tid, "status": "skipped", "reason": why})

    targets = []
    for tid in ("fxfile_t1", "fxfile_tN"):
        e = next((x for x in results if x["id"] == tid and "median_s" in x),
                 None)
        if not e:
            continue
        if "speedup_vs_sox_chain" in e:
            v = e["speedup_vs_sox_chain"]
            ok = v >= TARGET_SOX and bool(sox_agrees)
            targets.append({
                "tool": tid, "label": e["label"], "what": "speed-up over "
                "the sox LP+HP chain", "value": v,
                "value_best": mins["sox_chain"] / e["min_s"],
                "target": ">= %g" % TARGET_SOX, "pass": ok,
                "note": None if sox_agrees else
                "the outputs do not agree; the ratio does not count"})
        v = e["time_vs_copy"]
        targets.append({"tool": tid, "label": e["label"],
                        "what": "time as a multiple of the plain sox copy's",
                        "value": v,
                        "value_best": e["min_s"] / mins["sox_copy"],
                        "target": "<= %g" % TARGET_COPY,
                        "pass": v <= TARGET_COPY, "note": None})

    # Table.
    log("")
    log("%-36s %8s %8s %8s %10s %10s %9s %8s" % (
        "tool (%d run%s each)" % (rounds, "" if rounds == 1 else "s"),
        "med s", "min s", "cpu s", "x rt med", "x rt best", "vs sox",
        "vs copy"))
    for e in results:
        if "median_s" not in e:
            log("%-36s %s: %s" % (e.get("label", e["id"]), e["status"],
                                  e.get("reason", "")))
            continue
        log("%-36s %8.3f %8.3f %8.3f %10.0f %10.0f %8.2fx %7.2fx" % (
            e["label"], e["median_s"], e["min_s"], e["cpu_median_s"],
            e["x_realtime_median"], e["x_realtime_best"],
            e.get("speedup_vs_sox_chain", float("nan")),
            e["time_vs_copy"]))
        if "filter_median_s" in e:
            log("%-36s %8.3f %35s filter only: %.0fx realtime; import %.2f s, "
                "read %.2f s, write %.2f s" % (
                    "  (in-process filter only)", e["filter_median_s"], "",
                    e["x_realtime_filter_only"], e["import_median_s"],
                    e["read_median_s"], e["write_median_s"]))
    log("(vs sox: the sox chain's median time / this one's, higher is "
        "faster; vs copy: this one's median / the plain copy's)")
    log("")
    if targets:
        log("targets (judged on the medians of %d round%s; the best runs' "
            "ratio in brackets)%s:" % (
                rounds, "" if rounds == 1 else "s",
                "; --quick is a smoke test: a 1-minute file is dominated by "
                "start-up, so these verdicts do not count" if args.quick
                else ""))
        for g in targets:
            log("  %-20s %-44s %6.2fx (%.2fx)  target %-6s %s%s" % (
                g["label"], g["what"], g["value"], g["value_best"],
                g["target"], "PASS" if g["pass"] else "MISS",
                " - " + g["note"] if g["note"] else ""))
        for e in results:
            if e["id"].startswith("fxfile") and "time_vs_copy_sync" in e:
                log("  (%s: %.2fx the time of sox copy + sync; fxfile "
                    "fsyncs its output, the plain copy does not)"
                    % (e["label"], e["time_vs_copy_sync"]))
    else:
        log("targets: not judged (no fxfile)")
    for tid, why in skipped.items():
        if tid == "torchfx":
            log("torchfx: skipped: " + why)
    log("load average %.2f before the timed rounds, %.2f after (shared "
        "machine: compare ratios within this run)" % (load0[0], load1[0]))

    doc = {
        "bench": "bench_file", "mode": "quick" if args.quick else "full",
        "audio_seconds": seconds, "sample_rate": FS, "channels": CHANNELS,
        "frames": frames, "input": {"format": "WAV float32", "bytes": size,
                                    "seed": SEED, "reused": reused},
        "rounds": rounds, "order": "rotating, one untimed warm-up each",
        "nproc": os.cpu_count(), "threads_multi": args.threads,
        "machine": {"cpu": cpu_model(), "python": platform.python_version(),
                    "sox": sox_v, "loadavg_before": load0[0],
                    "loadavg_after": load1[0]},
        "chain": {"fxfile": FXFILE_SPEC, "sox": " ".join(SOX_CHAIN),
                  "sos": sos.tolist()},
        "timing": "wall-clock per process (read + filter + write), median "
                  "and min over rounds; cpu = user + sys of the child",
        "agreement": agreement, "sox_agrees_with_fxfile": sox_agrees,
        "results": results, "targets": targets,
        "skipped": skipped,
    }
    if json_path == "-":
        json.dump(doc, sys.stdout, indent=1)
        print()
    elif json_path:
        d = os.path.dirname(json_path)
        if d:
            os.makedirs(d, exist_ok=True)
        with open(json_path, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    return 0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


TABLE = sys.stdout

if __name__ == "__main__":
    sys.exit(main())
