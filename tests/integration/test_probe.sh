#!/bin/sh
# SPDX-License-Identifier: ISC
# fxd-probe (clients/fxd_probe.c, doc/fxd-probe.1) against the real fxd on a
# private dummy JACK server (TAP). With --freewheel the graph runs with no
# deadline, so the answers cannot depend on how busy the machine is: every
# measurement must equal the latency fxd reports, through the default
# chain (a reverb that is never silent), a filters-only chain, a limiter's
# look-ahead, a delay whose echo is louder than the dry path and two
# periods of latency, a steep lowpass (order 8 at 1 kHz: its onset rises
# over 26 frames) and fxd's ports reached by --in/--out patterns with
# --expect; a chain that smears the onset (a low lowpass) must be refused,
# never guessed. In real time (load may refuse some measurements) no answer
# may be wrong, and a period change mid-run (jack_bufsize) is ridden out.
# Skips when jackd is missing.
# shellcheck disable=SC2317 # functions run from trap and poll
set -u
. "${srcdir:-.}/tests/integration/jack_lib.sh"

require_tools jackd jack_lsp timeout
jack_test_begin probe
probe=${PROBE_BIN:-$builddir/clients/fxd-probe}

echo "1..25"
[ -x "$fxd" ] || bail "$fxd not found (set FXD_BIN)"
[ -x "$probe" ] || bail "$probe not found (set PROBE_BIN)"

start_jackd "$server" 256 "$tmp/jackd.log" || bail "no JACK server"
pass "jackd -d dummy -p 256 runs as $server"

# with_fxd CHAIN [OPTIONS...]: (re)starts fxd as $client on CHAIN ('' for
# the default chain) and waits for its ready line.
client=fxp-$$-$(rand)
with_fxd() {
	chain=$1
	shift
	if [ -n "$fxd_pid" ]; then
		stop_or_kill "$fxd_pid"
		wait "$fxd_pid" 2>/dev/null
	fi
	[ -z "$chain" ] || set -- "$@" "$chain"
	start_fxd "$tmp/fxd.log" 150 -n "$client" --osc-port 0 --no-mlock "$@"
}

# probe ARGS...: runs fxd-probe on our fxd; $rc, $tmp/out, $tmp/err.
probe() {
	cmd="fxd-probe --target $client $*"
	timeout -k 2 90 "$probe" --target "$client" "$@" \
		>"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
}

# exact WANT: the probe exited 0 and measured at least 3 times, each time
# WANT frames, which fxd also reports; any other answer is a capture it
# refused because an xrun or a skipped period fell into it (switching to
# freewheel on a busy machine can do that). "probe: measuring" lines only
# say a capture is taking a while (2 s or more: a loaded machine), so
# they are not answers.
exact() {
	measured=$(grep -c "^probe: added latency $1 frames .* fxd reports $1\$" \
		"$tmp/out")
	refused=$(grep -c '^probe: no measurement: a JACK xrun or a skipped period disturbed it' \
		"$tmp/out")
	answers=$(grep -vc '^probe: measuring (fxd reports [0-9]* frames)$' \
		"$tmp/out")
	[ "$rc" -eq 0 ] && [ "$measured" -ge 3 ] &&
		[ $((measured + refused)) -eq "$answers" ]
}

# case DESC WANT CHAIN [OPTIONS...]: fxd on CHAIN, then the probe
# freewheeling for 6 captures, at least 3 measured, each exactly WANT
# frames.
case_exact() {
	desc=$1 want=$2 chain=$3
	shift 3
	if with_fxd "$chain" "$@"; then
		pass "fxd runs $desc"
	else
		fail "fxd runs $desc"
		sed 's/^/# fxd: /' "$tmp/fxd.log"
	fi
	probe --freewheel --count 6 --seconds 60
	exact "$want"
	verdict "$desc: every measurement is $want frames, as reported" $?
}

case_exact "the default chain (reverb on, compressor, delay mix 0)" 256 ''
case_exact "a filters-only chain" 256 \
	'hpf:highpass cutoff=80 order=2 | eq:peaking cutoff=1000 q=0.7 gain=0 | lpf:lowpass cutoff=12000 order=2 | vol:gain db=0'
case_exact "a limiter's look-ahead (5 ms)" 496 \
	'lim:limiter lookahead=5 | vol:gain db=0'
case_exact "a delay louder than its dry path (mix 0.7)" 256 \
	'dly:delay time=350 feedback=0.3 mix=0.7'
case_exact "two periods of latency, a long reverb" 512 \
	'verb:reverb room=0.9 mix=0.5' --latency-periods 2
case_exact "a mono fxd" 256 'vol:gain db=-6' --channels 1
case_exact "a steep lowpass (order 8 at 1 kHz)" 256 \
	'lpf:lowpass cutoff=1000 order=8'

# The same fxd reached through port patterns (regular expressions, as
# jack_get_ports takes them), judged against --expect.
probe_ports() {
	cmd="fxd-probe $*"
	timeout -k 2 90 "$probe" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
}
probe_ports --in "^$client:in_[12]\$" --out "^$client:out_[12]\$" \
	--expect 256 --freewheel --count 4 --seconds 60
[ "$rc" -eq 0 ] &&
	[ "$(grep -c '^probe: added latency 256 frames .* expected 256$' \
		"$tmp/out")" -ge 2 ] &&
	! grep -q MISMATCH "$tmp/out"
verdict "--in/--out patterns reach fxd's ports; 256 frames as --expect says" $?
probe_ports --in "^$client:in_1\$" --out "^$client:out_1\$" \
	--expect 300 --freewheel --count 2 --seconds 60
[ "$rc" -eq 1 ] && grep -q '^probe: added latency 256 frames .* expected 300  MISMATCH$' "$tmp/out"
verdict "--expect 300 where 256 is measured: MISMATCH, exit 1" $?
probe_ports --in '^no-such-client:' --out "^$client:out_1\$" --seconds 2
[ "$rc" -eq 1 ] && grep -q "^fxd-probe: no input ports found (\^no-such-client:)$" "$tmp/err"
verdict "an --in pattern that matches nothing: exit 1, said" $?

# A low lowpass has no clear first arrival: refused, with the reason.
if with_fxd 'lpf:lowpass cutoff=200 order=8'; then
	pass "fxd runs a low lowpass (order 8 at 200 Hz)"
else
	fail "fxd runs a low lowpass (order 8 at 200 Hz)"
fi
probe --freewheel --count 6 --seconds 60
[ "$rc" -eq 1 ] && ! grep -q 'added latency' "$tmp/out" &&
	[ "$(grep -Ec '^probe: no measurement: (the first arrival is not clear|the onset rises out of the floor too slowly|the onset is smeared)' \
		"$tmp/out")" -ge 3 ]
verdict "a smeared onset is refused (3 times or more), never guessed; exit 1" $?

# In real time on a loaded machine some captures may be refused (xruns),
# but no answer may be wrong.
with_fxd '' || fail "fxd runs the default chain again"
probe --seconds 4
wrong=$(grep '^probe: added latency' "$tmp/out" |
	grep -vc '^probe: added latency 256 frames .* fxd reports 256$')
[ "$wrong" -eq 0 ] && [ "$rc" -le 1 ]
verdict "in real time, every answer given is 256 frames" $?

# The period changes under a running probe (PipeWire's quantum does this
# too): the capture it spoils is refused, and what is measured after it is
# the new latency, which fxd reports too (512 frames). In real time, not
# freewheeling: jackd 1.9.21 freewheeling after jack_bufsize moves its
# frame time out of step with the callbacks, so every capture then reads
# as disturbed; captures that load disturbs are refused, never counted.
require_period() {
	grep -q "^probe: added latency $1 frames .* fxd reports $1\$" "$tmp/out"
}
timeout -k 2 120 "$probe" --target "$client" --seconds 100 \
	>"$tmp/out" 2>"$tmp/err" </dev/null &
probe_pid=$!
stop_helpers() { stop_or_kill "${probe_pid:-}"; }
poll 600 require_period 256
pass_or_bail "before the change, 256 frames" $? "the probe measured nothing"
JACK_DEFAULT_SERVER=$server jack_bufsize 512 >/dev/null 2>&1
poll 600 require_period 512
verdict "after jack_bufsize 512, the probe measures 512 frames, as fxd reports" $?
stop "$probe_pid" TERM 300
wait "$probe_pid"
rc=$?
probe_pid=
cmd="fxd-probe --target $client (jack_bufsize 512 meanwhile)"
[ "$rc" -eq 0 ] && ! grep -q MISMATCH "$tmp/out"
verdict "the change mid-run is ridden out: no MISMATCH, exit 0" $?
JACK_DEFAULT_SERVER=$server jack_bufsize 256 >/dev/null 2>&1

probe --seconds 0
[ "$rc" -eq 2 ] && [ "$(cat "$tmp/err")" = "fxd-probe: --seconds: '0' is not 1..86400" ]
verdict "--seconds 0: usage error, exit 2" $?

[ "$n" -eq 25 ] || { echo "# ran $n tests, planned 25"; bad=1; }
exit $bad
