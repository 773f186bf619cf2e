#!/bin/sh
# SPDX-License-Identifier: ISC
# The benchmarks run and print well-formed JSON (speed is not judged here).
# bench_knob starts and stops jackd: one JACK test at a time.
. "${srcdir:-.}/tests/integration/jack_lib.sh"
jack_serialise
echo "1..4"
bad=0
if bench/bench_dsp --quick --json bench.$$.json >/dev/null 2>bench.$$.err &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["results"]' bench.$$.json 2>>bench.$$.err; then
	echo "ok 1 - bench_dsp --quick prints JSON with results"
else
	echo "not ok 1 - bench_dsp --quick failed"; sed 's/^/# /' bench.$$.err; bad=1
fi
rm -f bench.$$.json bench.$$.err
# bench_knob starts its own jackd and fxd: ten steps at one period.
if ! command -v jackd >/dev/null 2>&1; then
	echo "ok 2 # SKIP bench_knob: jackd is not installed"
elif bench/bench_knob --quick --steps 10 --periods 256 --fxd daemon/fxd \
		--json bench.$$.json >bench.$$.out 2>bench.$$.err &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d["results"][0]; assert r["steps"] == 10, r' bench.$$.json 2>>bench.$$.err; then
	echo "ok 2 - bench_knob measures ten knob steps through fxd and prints JSON"
else
	echo "not ok 2 - bench_knob failed"; sed 's/^/# /' bench.$$.out bench.$$.err; bad=1
fi
rm -f bench.$$.json bench.$$.out bench.$$.err
# bench_knob --midi: ten CCs at one period, judged while JACK freewheels,
# where each must land exactly fxd's latency after its frame.
if ! command -v jackd >/dev/null 2>&1; then
	echo "ok 3 # SKIP bench_knob --midi: jackd is not installed"
elif bench/bench_knob --midi --quick --steps 10 --periods 256 --fxd daemon/fxd \
		--json bench.$$.json >bench.$$.out 2>bench.$$.err &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d["results"][0]; assert d["kind"] == "midi" and r["steps"] == 10 and r["exact"] == 10 and r["pass"], r' bench.$$.json 2>>bench.$$.err; then
	echo "ok 3 - bench_knob --midi measures ten CCs through fxd, each exactly the latency, and prints JSON"
else
	echo "not ok 3 - bench_knob --midi failed"; sed 's/^/# /' bench.$$.out bench.$$.err; bad=1
fi
rm -f bench.$$.json bench.$$.out bench.$$.err
# bench_file: fxfile against sox and scipy on five seconds of audio.
if ! command -v sox >/dev/null 2>&1 ||
	! /usr/bin/python3 -c 'import numpy, scipy' 2>/dev/null; then
	echo "ok 4 # SKIP bench_file: needs sox and /usr/bin/python3 with numpy and scipy"
elif /usr/bin/python3 "${srcdir:-.}/bench/bench_file.py" --quick --seconds 5 \
		--torchfx skip --fxfile clients/fxfile --json bench.$$.json \
		>bench.$$.out 2>bench.$$.err &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["results"] and d["sox_agrees_with_fxfile"], d' bench.$$.json 2>>bench.$$.err; then
	echo "ok 4 - bench_file times fxfile, sox and scipy on one file and prints JSON"
else
	echo "not ok 4 - bench_file failed"; sed 's/^/# /' bench.$$.out bench.$$.err; bad=1
fi
rm -f bench.$$.json bench.$$.out bench.$$.err
exit $bad
