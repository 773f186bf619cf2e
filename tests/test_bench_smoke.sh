#!/bin/sh
# bench_dsp runs and prints well-formed JSON (its speed is not judged here).
echo "1..1"
if bench/bench_dsp --quick --json bench.$$.json >/dev/null 2>bench.$$.err &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["results"]' bench.$$.json 2>>bench.$$.err; then
	echo "ok 1 - bench_dsp --quick prints JSON with results"
	rm -f bench.$$.json bench.$$.err
else
	echo "not ok 1 - bench_dsp --quick failed"; sed 's/^/# /' bench.$$.err
	rm -f bench.$$.json bench.$$.err
	exit 1
fi
