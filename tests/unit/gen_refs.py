#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Writes the scipy reference data for tests/unit/test_design.c under tests/data/.

Run from anywhere with a Python that has numpy and scipy:

    /usr/bin/python3 tests/unit/gen_refs.py

The output is committed, so `make check` never needs scipy. Re-running with
the same numpy/scipy gives byte-identical files.

Formats (all text is ASCII, '#' starts a comment line, fields are separated
by single spaces, numbers are printed with %.17g so they round-trip):

tests/data/butter.txt -- scipy.signal.butter(order, Wn, type, fs=fs,
    output='sos'), one case a line:
        name type order f1 f2 fs nsec c[0] ... c[6*nsec-1]
    type is lowpass, highpass, bandpass or bandstop; f2 is 0 for lowpass and
    highpass; c holds nsec sections {b0 b1 b2 a0 a1 a2} in scipy's order.

tests/data/signals.txt -- filtered-signal cases, one a line:
        name input frames family type p1 p2 p3 p4 nsec c[0] ... c[6*nsec-1]
    family butter: type as above, p1..p4 = order f1 f2 fs (scipy's sections);
    family rbj: type is lowpass, highpass, bandpass, notch, allpass, peaking,
    lowshelf or highshelf, p1..p4 = f0 q gain_db fs, and c is the one
    section from the Audio EQ Cookbook formulas below, normalised to a0 = 1.
    input names a file in tests/data holding `frames` float32 samples; the
    reference output is tests/data/<name>.out.f64, `frames` float64 samples
    equal to scipy.signal.sosfilt(c, input.astype(float64)).

tests/data/cheby.txt -- scipy.signal.cheby1(order, rp, f, type, fs=fs,
    output='sos') and scipy.signal.cheby2(order, rs, f, type, fs=fs,
    output='sos'), one case a line (read by tests/unit/test_cheby.c):
        name family type order db f fs nsec c[0] ... c[6*nsec-1]
    family is cheby1 (db = passband ripple rp) or cheby2 (db = stopband
    attenuation rs; f is then the stopband edge); type is lowpass or
    highpass.

tests/data/cheby_signals.txt -- filtered-signal cases for the cheby1,
    cheby2 and lr effects, in the signals.txt layout:
        name input frames family type p1 p2 p3 p4 nsec c[0] ... c[6*nsec-1]
    family cheby1/cheby2: p1..p4 = order db f fs (scipy's sections as in
    cheby.txt); family lr (Linkwitz-Riley): p1..p4 = order 0 f fs and c is
    scipy's butter(order/2, f, type, fs=fs, output='sos') twice over. The
    reference outputs are <name>.out.f64 as for signals.txt.

Binary files are raw little-endian arrays without a header. All cases share
one input (seeded white noise plus sines), which keeps the data small.
"""

import os
import sys

import numpy as np
import scipy
from scipy import signal

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
FRAMES = 16384
INPUT = "signal.in.f32"


def butter_cases():
    """(name, type, order, f1, f2, fs), deterministic."""
    cases = []
    lp = [(50, 44100), (1000, 48000), (8000, 48000), (15000, 96000),
          (20000, 44100), (200, 96000)]
    hp = [(20, 96000), (80, 48000), (1000, 44100), (5000, 48000),
          (18000, 44100), (30000, 96000)]
    bands = [(300, 3400, 44100), (20, 20000, 48000),  # wide: real poles
             (995, 1005, 48000), (100, 200, 96000), (5000, 15000, 44100),
             (60, 12000, 96000)]
    for n in range(1, 17):
        for i in (n % 6, (n + 3) % 6):
            cases.append(("lp%d_%g_%g" % (n, *lp[i]), "lowpass", n,
                          lp[i][0], 0, lp[i][1]))
            cases.append(("hp%d_%g_%g" % (n, *hp[i]), "highpass", n,
                          hp[i][0], 0, hp[i][1]))
            f1, f2, fs = bands[i]
            cases.append(("bp%d_%g_%g_%g" % (n, f1, f2, fs), "bandpass", n,
                          f1, f2, fs))
            cases.append(("bs%d_%g_%g_%g" % (n, f1, f2, fs), "bandstop", n,
                          f1, f2, fs))
    cases += [
        ("hp4_20_96000", "highpass", 4, 20, 0, 96000),
        ("lp10_1000_48000", "lowpass", 10, 1000, 0, 48000),
        ("lp10_8000_48000", "lowpass", 10, 8000, 0, 48000),
        ("hp2_80_48000", "highpass", 2, 80, 0, 48000),
        ("lp16_10_96000", "lowpass", 16, 10, 0, 96000),
        ("hp16_23000_48000", "highpass", 16, 23000, 0, 48000),
        ("lp1_23900_48000", "lowpass", 1, 23900, 0, 48000),
        ("lp3_12000_48000", "lowpass", 3, 12000, 0, 48000),  # fs/4
        ("bs16_10_40_96000", "bandstop", 16, 10, 40, 96000),
        ("bp16_21000_23900_48000", "bandpass", 16, 21000, 23900, 48000),
        # f1 + f2 = fs/2: pole magnitudes tie in pairs, so scipy's
        # ordering rests on rounding; checked by magnitude if need be
        ("bp4_6000_18000_48000", "bandpass", 4, 6000, 18000, 48000),
    ]
    names = [c[0] for c in cases]
    # the grid repeats some settings: keep the first of each name
    return [c for i, c in enumerate(cases) if c[0] not in names[:i]]


def rbj(kind, f0, q, gain_db, fs):
    """Audio EQ Cookbook biquad (R. Bristow-Johnson), a0 normalised to 1."""
    w0 = 2 * np.pi * f0 / fs
    c, s = np.cos(w0), np.sin(w0)
    alpha = s / (2 * q)
    A = 10 ** (gain_db / 40)
    sa = 2 * np.sqrt(A) * alpha
    if kind == "lowpass":
        b = [(1 - c) / 2, 1 - c, (1 - c) / 2]
        a = [1 + alpha, -2 * c, 1 - alpha]
    elif kind == "highpass":
        b = [(1 + c) / 2, -(1 + c), (1 + c) / 2]
        a = [1 + alpha, -2 * c, 1 - alpha]
    elif kind == "bandpass":
        b = [alpha, 0, -alpha]
        a = [1 + alpha, -2 * c, 1 - alpha]
    elif kind == "notch":
        b = [1, -2 * c, 1]
        a = [1 + alpha, -2 * c, 1 - alpha]
    elif kind == "allpass":
        b = [1 - alpha, -2 * c, 1 + alpha]
        a = [1 + alpha, -2 * c, 1 - alpha]
    elif kind == "peaking":
        b = [1 + alpha * A, -2 * c, 1 - alpha * A]
        a = [1 + alpha / A, -2 * c, 1 - alpha / A]
    elif kind == "lowshelf":
        b = [A * ((A + 1) - (A - 1) * c + sa),
             2 * A * ((A - 1) - (A + 1) * c),
             A * ((A + 1) - (A - 1) * c - sa)]
        a = [(A + 1) + (A - 1) * c + sa,
             -2 * ((A - 1) + (A + 1) * c),
             (A + 1) + (A - 1) * c - sa]
    elif kind == "highshelf":
        b = [A * ((A + 1) + (A - 1) * c + sa),
             -2 * A * ((A - 1) + (A + 1) * c),
             A * ((A + 1) + (A - 1) * c - sa)]
        a = [(A + 1) - (A - 1) * c + sa,
             2 * ((A - 1) - (A + 1) * c),
             (A + 1) - (A - 1) * c - sa]
    else:
        raise ValueError(kind)
    b = np.array(b, dtype=np.float64) / a[0]
    a = np.array(a, dtype=np.float64) / a[0]
    a[0] = 1.0
    return np.concatenate((b, a))[np.newaxis, :]


# (name, family, type, p1, p2, p3, p4): butter p = order f1 f2 fs,
# rbj p = f0 q gain_db fs
SIGNAL_CASES = [
    ("hp4_20_96000", "butter", "highpass", 4, 20, 0, 96000),
    ("lp10_1000_48000", "butter", "lowpass", 10, 1000, 0, 48000),
    ("lp10_8000_48000", "butter", "lowpass", 10, 8000, 0, 48000),
    ("hp2_80_48000", "butter", "highpass", 2, 80, 0, 48000),
    ("bp4_300_3400_44100", "butter", "bandpass", 4, 300, 3400, 44100),
    ("bs3_800_1250_48000", "butter", "bandstop", 3, 800, 1250, 48000),
    ("rbj_peak_1000_48000", "rbj", "peaking", 1000, 1.4, 6, 48000),
    ("rbj_lshelf_100_44100", "rbj", "lowshelf", 100, 0.7071, -9, 44100),
]


def cheby_cases():
    """(name, family, type, order, db, f, fs), deterministic."""
    cases = []
    lp = [(50, 44100), (1000, 48000), (8000, 48000), (15000, 96000),
          (20000, 44100), (200, 96000)]
    hp = [(20, 96000), (80, 48000), (1000, 44100), (5000, 48000),
          (18000, 44100), (30000, 96000)]
    rps = [0.01, 0.1, 0.5, 1, 3, 12]
    rss = [10, 20, 40, 60, 80, 120]
    for n in range(1, 17):
        for i in (n % 6, (n + 3) % 6):
            for fam, dbs, tag in (("cheby1", rps, "c1"), ("cheby2", rss, "c2")):
                db = dbs[(n + i) % 6]
                for kind, (f, fs) in (("lowpass", lp[i]), ("highpass", hp[i])):
                    cases.append(("%s%s%d_%g_%g_%g" % (tag, kind[0] + "p", n,
                                                       db, f, fs),
                                  fam, kind, n, db, f, fs))
    cases += [
        ("c1hp5_0.5_500_48000", "cheby1", "highpass", 5, 0.5, 500, 48000),
        ("c1lp16_0.01_20_96000", "cheby1", "lowpass", 16, 0.01, 20, 96000),
        ("c1lp16_12_20000_44100", "cheby1", "lowpass", 16, 12, 20000, 44100),
        ("c1hp16_1_20_96000", "cheby1", "highpass", 16, 1, 20, 96000),
        ("c1lp2_1_1000_48000", "cheby1", "lowpass", 2, 1, 1000, 48000),
        ("c2lp16_120_20_96000", "cheby2", "lowpass", 16, 120, 20, 96000),
        ("c2hp16_120_20000_44100", "cheby2", "highpass", 16, 120, 20000,
         44100),
        ("c2lp1_120_20_96000", "cheby2", "lowpass", 1, 120, 20, 96000),
        ("c2lp4_40_1000_48000", "cheby2", "lowpass", 4, 40, 1000, 48000),
        ("c2hp9_10_23000_48000", "cheby2", "highpass", 9, 10, 23000, 48000),
    ]
    names = [c[0] for c in cases]
    return [c for i, c in enumerate(cases) if c[0] not in names[:i]]


def cheby_sos(fam, kind, n, db, f, fs):
    if fam == "cheby1":
        return signal.cheby1(n, db, f, kind, fs=fs, output="sos")
    if fam == "cheby2":
        return signal.cheby2(n, db, f, kind, fs=fs, output="sos")
    half = signal.butter(n // 2, f, kind, fs=fs, output="sos")
    return np.vstack((half, half))


# (name, family, type, p1, p2, p3, p4): cheby p = order db f fs,
# lr p = order 0 f fs
CHEBY_SIGNAL_CASES = [
    ("c1hp5_0.5_500_48000", "cheby1", "highpass", 5, 0.5, 500, 48000),
    ("c1lp8_1_2000_48000", "cheby1", "lowpass", 8, 1, 2000, 48000),
    ("c1lp16_0.1_10000_44100", "cheby1", "lowpass", 16, 0.1, 10000, 44100),
    ("c2lp6_60_4000_48000", "cheby2", "lowpass", 6, 60, 4000, 48000),
    ("c2hp7_40_100_96000", "cheby2", "highpass", 7, 40, 100, 96000),
    ("c2lp16_120_1000_48000", "cheby2", "lowpass", 16, 120, 1000, 48000),
    ("lr_lp4_1000_48000", "lr", "lowpass", 4, 0, 1000, 48000),
    ("lr_hp6_200_44100", "lr", "highpass", 6, 0, 200, 44100),
]


def fmt(v):
    return "%.17g" % v


def sos_fields(sos):
    return [str(len(sos))] + [fmt(v) for v in np.asarray(sos).ravel()]


def write_text(path, header, lines):
    with open(path, "w", encoding="ascii", newline="\n") as f:
        for h in header:
            f.write("# " + h + "\n")
        for line in lines:
            f.write(" ".join(line) + "\n")


def input_signal():
    # seeded noise plus sines at fixed fractions of fs (19.2 Hz at 96 kHz
    # sits right at the 20 Hz highpass corner)
    rng = np.random.default_rng(20240611)
    n = np.arange(FRAMES)
    x = 0.25 * rng.standard_normal(FRAMES)
    for f, amp, ph in ((0.0002, 0.2, 0.3), (0.0021, 0.1, 1.1),
                       (0.0208, 0.1, 2.0), (0.1666, 0.05, 0.7),
                       (0.4, 0.05, 2.9)):
        x += amp * np.sin(2 * np.pi * f * n + ph)
    return x.astype(np.float32)


def main():
    os.makedirs(DATA, exist_ok=True)
    ver = "numpy %s, scipy %s" % (np.__version__, scipy.__version__)

    lines = []
    for name, kind, n, f1, f2, fs in butter_cases():
        wn = [f1, f2] if kind.startswith("band") else f1
        sos = signal.butter(n, wn, kind, fs=fs, output="sos")
        lines.append([name, kind, str(n), fmt(f1), fmt(f2), fmt(fs)] +
                     sos_fields(sos))
    write_text(os.path.join(DATA, "butter.txt"),
               ["scipy.signal.butter(order, Wn, type, fs=fs, output='sos')"
                " via tests/unit/gen_refs.py (%s)" % ver,
                "name type order f1 f2 fs nsec b0 b1 b2 a0 a1 a2 ..."],
               lines)

    x = input_signal()
    x.astype("<f4").tofile(os.path.join(DATA, INPUT))
    lines = []
    for name, fam, kind, p1, p2, p3, p4 in SIGNAL_CASES:
        if fam == "butter":
            wn = [p2, p3] if kind.startswith("band") else p2
            sos = signal.butter(p1, wn, kind, fs=p4, output="sos")
        else:
            sos = rbj(kind, p1, p2, p3, p4)
        y = signal.sosfilt(sos, x.astype(np.float64))
        y.astype("<f8").tofile(os.path.join(DATA, name + ".out.f64"))
        lines.append([name, INPUT, str(FRAMES), fam, kind] +
                     [fmt(v) for v in (p1, p2, p3, p4)] + sos_fields(sos))
    write_text(os.path.join(DATA, "signals.txt"),
               ["reference outputs: sosfilt(c, input.astype(float64)) via"
                " tests/unit/gen_refs.py (%s)" % ver,
                "name input frames family type p1 p2 p3 p4 nsec"
                " b0 b1 b2 a0 a1 a2 ...",
                "butter: p1..p4 = order f1 f2 fs; rbj: p1..p4 = f0 q"
                " gain_db fs"],
               lines)

    lines = []
    for name, fam, kind, n, db, f, fs in cheby_cases():
        sos = cheby_sos(fam, kind, n, db, f, fs)
        lines.append([name, fam, kind, str(n), fmt(db), fmt(f), fmt(fs)] +
                     sos_fields(sos))
    write_text(os.path.join(DATA, "cheby.txt"),
               ["scipy.signal.cheby1(order, rp, f, type, fs=fs, output='sos')"
                " / cheby2(order, rs, ...) via tests/unit/gen_refs.py (%s)" % ver,
                "name family type order db f fs nsec b0 b1 b2 a0 a1 a2 ..."],
               lines)

    lines = []
    for name, fam, kind, p1, p2, p3, p4 in CHEBY_SIGNAL_CASES:
        sos = cheby_sos(fam, kind, p1, p2, p3, p4)
        y = signal.sosfilt(sos, x.astype(np.float64))
        y.astype("<f8").tofile(os.path.join(DATA, name + ".out.f64"))
        lines.append([name, INPUT, str(FRAMES), fam, kind] +
                     [fmt(v) for v in (p1, p2, p3, p4)] + sos_fields(sos))
    write_text(os.path.join(DATA, "cheby_signals.txt"),
               ["reference outputs: sosfilt(c, input.astype(float64)) via"
                " tests/unit/gen_refs.py (%s)" % ver,
                "name input frames family type p1 p2 p3 p4 nsec"
                " b0 b1 b2 a0 a1 a2 ...",
                "cheby1/cheby2: p1..p4 = order db f fs; lr: p1..p4 = order"
                " 0 f fs, c = butter(order/2) twice"],
               lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
