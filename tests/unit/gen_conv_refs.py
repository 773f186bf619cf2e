#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Writes the scipy reference data for tests/unit/test_convolver.c.

Run from anywhere with a Python that has numpy and scipy:

    /usr/bin/python3 tests/unit/gen_conv_refs.py

The output is committed, so `make check` never needs scipy. Re-running gives
byte-identical files.

The signals are not stored: the test makes the same ones from the same
seeds. A value is xorshift32 (13, 17, 5) state >> 8, mapped to
v = s / 2**23 - 1 (exact in float32, in [-1, 1)). The input is INPUT_FRAMES
values from seed 1; the response of length L is, for frame i,
float32(v_i * (1 - i / L)) from seed 2 + L (a decaying noise burst).

tests/data/conv_L.out.f64 holds, for each L in LENGTHS, EXCERPT float64
values (raw little-endian) of scipy.signal.fftconvolve(input, response) (in
float64, full length T = INPUT_FRAMES + L - 1) at frames: 0 .. HEAD-1, then
HEAD + j * (T - HEAD - 1) // (SPREAD - 1) for j in 0 .. SPREAD-1, so every
partition of the longest response is reached.
"""

import os

import numpy as np
from scipy import signal

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
LENGTHS = [1, 63, 64, 65, 1000, 48000, 240000]
INPUT_FRAMES = 4096
HEAD = 256
SPREAD = 768


def noise(seed, n):
    s = seed
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        out[i] = (s >> 8) / 8388608.0 - 1.0
    return out


def response(length):
    v = noise(2 + length, length)
    i = np.arange(length, dtype=np.float64)
    return (v * (1.0 - i / length)).astype(np.float32).astype(np.float64)


def frames(total):
    head = list(range(HEAD))
    spread = [HEAD + j * (total - HEAD - 1) // (SPREAD - 1)
              for j in range(SPREAD)]
    return np.array(head + spread)


def main():
    x = noise(1, INPUT_FRAMES).astype(np.float32).astype(np.float64)
    for length in LENGTHS:
        y = signal.fftconvolve(x, response(length))
        ref = y[frames(len(y))].astype("<f8")
        ref.tofile(os.path.join(DATA, "conv_%d.out.f64" % length))


if __name__ == "__main__":
    main()
