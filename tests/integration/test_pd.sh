#!/bin/sh
# SPDX-License-Identifier: ISC
# The Pure Data patch clients/pd/fxd-control.pd against the real fxd on a
# private dummy JACK server (TAP). A driver patch loads the shipped patch as
# an abstraction and drives its own controls through their receive names
# (fxd-dly-time 500 moves the slider, which sends /fx/dly/time), then
# subscribes through the patch's subscribe button. The test then checks
# that the patch showed fxd's feedback and meters, and, through a
# subscription of its own (oscdump), that fxd applied what the patch sent.
# fxd runs its default chain, whose labels the patch uses (hpf | eq | comp
# | dly | verb | vol), with a tuner labelled tuner in front, which the
# patch shows too. FXD_BIN may name a wrapper.
# Skips when pd, jackd or liblo-tools are missing.
# shellcheck disable=SC2317 # functions run from trap and poll
set -u
. "${srcdir:-.}/tests/integration/jack_lib.sh"

require_tools pd jackd jack_lsp oscsend oscdump timeout
jack_test_begin pd
patchdir=$(cd "${srcdir:-.}/clients/pd" 2>/dev/null && pwd) || patchdir=
dump_pid=
stop_helpers() { stop_or_kill "$dump_pid"; }
log_names="jackd fxd pd dump"

echo "1..19"
if [ -z "$patchdir" ] || [ ! -f "$patchdir/fxd-control.pd" ]; then
	bail "clients/pd/fxd-control.pd not found (srcdir=${srcdir:-unset})"
fi
[ -x "$fxd" ] || bail "$fxd not found (set FXD_BIN)"

# ---- a private JACK server and fxd on it -----------------------------------
start_jackd "$server" 256 "$tmp/jackd.log"
pass_or_bail "jackd -d dummy runs as $server" $? "no JACK server"

XDG_DATA_HOME=$tmp
export XDG_DATA_HOME
# The client name is unique: JACK names client sockets by client.
# Generous: a sanitizer build on a loaded 2-core machine starts slowly.
# The default chain with a tuner in front, labelled as the patch expects.
default_chain=$(sed -n '/#define FX_DEFAULT_CHAIN/,/^$/p' \
	"${srcdir:-.}/daemon/options.h" | grep -o '"[^"]*"' | tr -d '"\n')
start_fxd "$tmp/fxd.log" 300 -n "fxdpd-$$-$(rand)" --osc-port 0 --no-mlock \
	--chain "tuner:tuner | $default_chain"
pass_or_bail "fxd is ready, OSC on UDP port $port" $? \
	"fxd did not print its ready line with an OSC port"

# Set from outside before Pd starts, so that the patch can only learn it
# from fxd's feedback. fxd reads its one socket in order, so this is
# applied before anything Pd sends.
oscsend 127.0.0.1 "$port" /fx/hpf/cutoff f 150 ||
	bail "oscsend to fxd failed"
oscsend 127.0.0.1 "$port" /fx/comp/makeup f 4 ||
	bail "oscsend to fxd failed"
oscsend 127.0.0.1 "$port" /fx/verb/width f 0.25 ||
	bail "oscsend to fxd failed"

# ---- Pd: the shipped patch, driven through its own controls ----------------
pd_port=$(free_udp_port) || bail "no free UDP port"
# The shipped patch's loadbang listens on 9001 and connects to 8000; the
# driver's loadbang runs after it (abstractions first) and moves both.
# Feedback comes first (the full state on subscribing), then meters every
# 100 ms with stats after the first: the third meters message after the
# feedback ends the run, so the stats have passed the patch's filter too.
# 10 s without them is a failure.
cat >"$tmp/driver.pd" <<EOF
#N canvas 0 0 600 400 10;
#X obj 10 10 fxd-control;
#X obj 10 40 loadbang;
#X msg 10 70 \; fxd-listen listen $pd_port \; fxd-connect connect 127.0.0.1 $port \; fxd-comp-threshold -24 \; fxd-comp-ratio 8 \; fxd-dly-time 500 \; fxd-dly-mix 0.5 \; fxd-verb-room 0.75 \; fxd-vol-db -6 \; fxd-eq-bypass 1 \; fxd-dly-bypass 1 \; fxd-mute 1 \; fxd-subscribe bang \; fxd-verb-damp 0.25 \; fxd-test-bad 1;
#X obj 10 120 r fxd-hpf-cutoff-shown;
#X obj 10 145 route set;
#X obj 10 170 print fxd-test-hpf;
#X obj 10 195 sel 150;
#X msg 10 220 1;
#X obj 200 120 r fxd-meters-shown;
#X obj 200 145 print fxd-test-meters;
#X obj 300 145 t b;
#X obj 300 170 f;
#X obj 300 195 sel 1;
#X msg 300 270 \; pd quit;
#X obj 400 40 del 10000;
#X obj 400 70 print fxd-test-timeout;
#X obj 300 220 f;
#X obj 340 220 + 1;
#X obj 300 245 sel 2;
#X obj 10 300 r fxd-comp-makeup-shown;
#X obj 10 325 route set;
#X obj 10 350 print fxd-test-makeup;
#X obj 200 300 r fxd-verb-width-shown;
#X obj 200 325 route set;
#X obj 200 350 print fxd-test-width;
#X obj 400 300 r fxd-test-bad;
#X obj 400 325 oscformat fx nope db;
#X obj 400 350 s fxd-osc-packet;
#X obj 400 120 r fxd-chain-shown;
#X obj 400 145 print fxd-test-chain;
#X obj 200 370 r fxd-comp-gr-shown;
#X obj 200 395 route set;
#X obj 200 420 print fxd-test-gr;
#X obj 400 370 r fxd-tuner-level-shown;
#X obj 400 395 route set;
#X obj 400 420 print fxd-test-tuner-level;
#X obj 400 450 r fxd-tuner-freq-shown;
#X obj 400 475 print fxd-test-tuner-freq;
#X connect 1 0 2 0;
#X connect 1 0 14 0;
#X connect 3 0 4 0;
#X connect 4 0 5 0;
#X connect 4 0 6 0;
#X connect 6 0 7 0;
#X connect 7 0 11 1;
#X connect 8 0 9 0;
#X connect 8 0 10 0;
#X connect 10 0 11 0;
#X connect 11 0 12 0;
#X connect 12 0 16 0;
#X connect 16 0 17 0;
#X connect 17 0 16 1;
#X connect 16 0 18 0;
#X connect 18 0 13 0;
#X connect 14 0 15 0;
#X connect 14 0 13 0;
#X connect 19 0 20 0;
#X connect 20 0 21 0;
#X connect 22 0 23 0;
#X connect 23 0 24 0;
#X connect 25 0 26 0;
#X connect 26 0 27 0;
#X connect 28 0 29 0;
#X connect 30 0 31 0;
#X connect 31 0 32 0;
#X connect 33 0 34 0;
#X connect 34 0 35 0;
#X connect 36 0 37 0;
EOF
timeout -k 5 30 pd -noprefs -nogui -nosound -nomidi -stderr \
	-path "$patchdir" "$tmp/driver.pd" >"$tmp/pd.log" 2>&1 </dev/null
pd_rc=$?
if [ $pd_rc -eq 0 ] && ! grep -q 'fxd-test-timeout' "$tmp/pd.log" &&
	! grep -q "couldn't create\|oscparse" "$tmp/pd.log"; then
	pass "pd runs the shipped patch without errors"
else
	fail "pd runs the shipped patch without errors"
	echo "# pd exit status $pd_rc"
fi
if grep -q '^fxd-test-hpf: 150$' "$tmp/pd.log"; then
	pass "the patch shows fxd's feedback (/fx/hpf/cutoff 150)"
else
	fail "the patch shows fxd's feedback (/fx/hpf/cutoff 150)"
fi
if grep -q '^fxd-test-makeup: 4$' "$tmp/pd.log" &&
	grep -q '^fxd-test-width: 0.25$' "$tmp/pd.log"; then
	pass "the patch shows feedback for comp and verb (makeup 4, width 0.25)"
else
	fail "the patch shows feedback for comp and verb (makeup 4, width 0.25)"
fi
# Silence in: the tuner's level reads its floor, and it reports no pitch.
if grep -q '^fxd-test-tuner-level: -120$' "$tmp/pd.log" &&
	! grep -q '^fxd-test-tuner-freq' "$tmp/pd.log"; then
	pass "the patch shows the tuner (level -120 dBFS, no pitch in silence)"
else
	fail "the patch shows the tuner (level -120 dBFS, no pitch in silence)"
fi
# Silence in: the compressor reduces nothing, and says so with the meters.
if grep -q '^fxd-test-gr: 0$' "$tmp/pd.log"; then
	pass "the patch shows the compressor's gain reduction (/fx/comp/gr 0)"
else
	fail "the patch shows the compressor's gain reduction (/fx/comp/gr 0)"
fi
if grep -q '^fxd-test-meters: set [-0-9.e ]*$' "$tmp/pd.log"; then
	pass "the patch shows /fxd/meters"
else
	fail "the patch shows /fxd/meters"
fi
# Moved after subscribing: the chain box follows values, not only loads.
if grep -q '^fxd-test-chain: .*verb:reverb.* damp=0\.25 ' "$tmp/pd.log"; then
	pass "the running chain box follows a change (damp=0.25)"
else
	fail "the running chain box follows a change (damp=0.25)"
fi
# [netsend] sends from a port [netreceive] does not listen on: the failure
# reaches the Pd window through the subscription.
if grep -q '^fxd-fail: .*/fx/nope/db' "$tmp/pd.log"; then
	pass "a failure of what the patch sent is printed in the Pd window"
else
	fail "a failure of what the patch sent is printed in the Pd window"
fi

# ---- what fxd applied: its full state, sent to a subscriber ---------------
dump_port=$(free_udp_port) || bail "no free UDP port"
: >"$tmp/dump.log"
oscdump -L "$dump_port" >>"$tmp/dump.log" 2>&1 </dev/null &
dump_pid=$!
dump_up() {
	kill -0 "$dump_pid" 2>/dev/null || return 2
	udp_bound "$dump_port"
}
poll 50 dump_up || bail "oscdump did not bind UDP port $dump_port"
oscsend 127.0.0.1 "$port" /fxd/subscribe si 127.0.0.1 "$dump_port" ||
	bail "oscsend to fxd failed"
# The state ends with /fxd/bpm.
poll 50 grep -q '/fxd/bpm ' "$tmp/dump.log" ||
	bail "no state from fxd after /fxd/subscribe"

# has ADDRESS TYPE VALUE: the state holds ADDRESS ,TYPE VALUE (compared
# as numbers: oscdump prints floats as 0.500000).
has() {
	awk -v a="$1" -v t="$2" -v v="$3" '
		NF >= 3 && $(NF - 2) == a && $(NF - 1) == t && $NF + 0 == v + 0 {
			found = 1
		}
		END { exit !found }' "$tmp/dump.log"
}
check() {
	if has "$2" "$3" "$4"; then pass "$1"; else fail "$1"; fi
}
check "comp threshold slider: fxd has /fx/comp/threshold -24" \
	/fx/comp/threshold f -24
check "comp ratio slider (log): fxd has /fx/comp/ratio 8" /fx/comp/ratio f 8
check "dly time slider (log): fxd has /fx/dly/time 500" /fx/dly/time f 500
check "dly mix slider: fxd has /fx/dly/mix 0.5" /fx/dly/mix f 0.5
check "verb room slider: fxd has /fx/verb/room 0.75" /fx/verb/room f 0.75
check "vol db slider: fxd has /fx/vol/db -6" /fx/vol/db f -6
check "eq bypass toggle: fxd has /fx/eq/bypass 1" /fx/eq/bypass i 1
check "dly bypass toggle: fxd has /fx/dly/bypass 1" /fx/dly/bypass i 1
check "mute toggle: fxd has /fxd/mute 1" /fxd/mute i 1

[ $bad -eq 0 ] || logs
exit $bad
