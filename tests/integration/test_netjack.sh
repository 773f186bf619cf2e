#!/bin/sh
# SPDX-License-Identifier: ISC
# fxd on a netjack2 slave (TAP), issue 17. A master `jackd -d dummy` with
# netmanager and a slave `jackd -d net` on 127.0.0.1, inside a private
# network namespace (unshare -n) so that parallel runs cannot meet on
# netjack's ports; fxd runs on the slave, linked to its system ports. The
# probe plays on the master into the slave's to_slave ports and records
# from_slave (--in/--out patterns, no aliases): first with the slave's
# ports linked straight through (netjack's own round trip, N), then through
# fxd: exactly N plus the latency fxd reports in -S sync mode, and one
# period more in async mode (the slave sends what its clients made one
# cycle late; straight through, no client, it does not). The master restarted: the slave
# (without -s) comes back, and fxd links its ports again (defect 4);
# restarted at 44100 Hz, fxd follows the rate (defect 3). Real time:
# refused captures are load, no answer may be wrong. Skips without root's
# unshare -n or jackd's net backend.
# shellcheck disable=SC2317 # functions run from trap and poll
set -u
. "${srcdir:-.}/tests/integration/jack_lib.sh"

require_tools jackd jack_lsp jack_load jack_connect jack_disconnect \
	timeout unshare ip
if [ -z "${FX_NETNS:-}" ]; then
	unshare -n true 2>/dev/null || skip "no private network namespace (unshare -n needs root)"
	FX_NETNS=1
	export FX_NETNS
	exec unshare -n sh -c 'ip link set lo up && exec /bin/sh "$0"' "$0"
fi
jack_test_begin netjack
probe=${PROBE_BIN:-$builddir/clients/fxd-probe}
master=$server
slave=
box=fxdbox$$
slave_pid='' probe_pid=''
log_names="jackd slave fxd"
stop_helpers() {
	stop_or_kill "$probe_pid"
	stop_or_kill "$fxd_pid"
	fxd_pid=
	stop_jackd "$slave_pid" "$slave"
}

echo "1..14"
[ -x "$fxd" ] || bail "$fxd not found (set FXD_BIN)"
[ -x "$probe" ] || bail "$probe not found (set PROBE_BIN)"

start_master_at() {
	reclaim_registry
	jackd_name=$master
	jackd -n "$master" --no-realtime -d dummy -r "$1" -p 256 \
		>>"$tmp/jackd.log" 2>&1 </dev/null &
	jack_pid=$!
	poll 100 jackd_answers &&
		timeout 20 jack_load -s "$master" -i "-a 127.0.0.1" netmanager \
			>>"$tmp/jackd.log" 2>&1
}
stop_master() {
	# A master with netmanager can ignore SIGTERM for seconds.
	stop_jackd "$jack_pid" "$master"
	jack_pid=
	master=fxdnjm-$$-$(rand)
}
on_master() { JACK_DEFAULT_SERVER=$master "$@"; }
on_slave() { JACK_DEFAULT_SERVER=$slave "$@"; }

# start_slave [-S]: the slave, async (or sync with -S), restoring its own
# links only where the test says (-s is left out: fxd must relink).
start_slave() {
	reclaim_registry
	jackd -n "$slave" --no-realtime "$@" -d net -a 127.0.0.1 -l 2 -C 2 \
		-P 2 -n "$box" >>"$tmp/slave.log" 2>&1 </dev/null &
	slave_pid=$!
	poll 300 slave_joined
}
slave_joined() {
	kill -0 "$slave_pid" 2>/dev/null || return 2
	on_master jack_lsp 2>/dev/null | grep -q "^$box:from_slave_1\$" &&
		on_slave jack_lsp >/dev/null 2>&1
}

# loop_probe EXPECT: the probe on the master through the slave; EXPECT
# empty: no reference (netjack's own round trip is printed). A busy
# machine makes the slave skip periods, and the probe refuses those
# captures: it runs again (at most 5 times) until two captures were
# measured; every answer of every run is kept for the verdict.
loop_probe() {
	cmd="fxd-probe --in ^$box:to_slave_[12]\$ --out ^$box:from_slave_[12]\$ ${1:+--expect $1}"
	: >"$tmp/out"
	: >"$tmp/err"
	rc=1 runs=0 measured=0 # 1: no measurement at all, as the probe says
	while [ "$runs" -lt 5 ] &&
		[ "$(grep -c '^probe: added latency' "$tmp/out")" -lt 2 ]; do
		runs=$((runs + 1))
		# shellcheck disable=SC2046 # --expect N or nothing
		on_master timeout -k 2 90 "$probe" --in "^$box:to_slave_[12]\$" \
			--out "^$box:from_slave_[12]\$" \
			$([ -z "$1" ] || echo --expect "$1") \
			--seconds 60 --count 4 >"$tmp/run" 2>>"$tmp/err" </dev/null
		last=$?
		cat "$tmp/run" >>"$tmp/out"
		# A run that measured nothing only failed to measure; one
		# that measured gives its verdict (a mismatch sticks).
		grep -q '^probe: added latency' "$tmp/run" || continue
		if [ "$measured" -eq 0 ] || [ "$last" -ne 0 ]; then
			rc=$last
		fi
		measured=1
	done
}
# lags: the distinct measured latencies, one a line.
lags() { sed -n 's/^probe: added latency \([0-9]*\) frames.*/\1/p' "$tmp/out" | sort -u; }
# one_lag: exactly one latency was measured, twice or more: print it.
one_lag() {
	[ "$(lags | wc -l)" -eq 1 ] &&
		[ "$(grep -c '^probe: added latency' "$tmp/out")" -ge 2 ] && lags
}

slave_fxd() {
	fxd_log=$tmp/fxd.log
	: >"$fxd_log"
	# Not through on_slave: a function run in the background is a
	# subshell, and $! would be its PID, not fxd's (stopping it left fxd
	# running after the test).
	JACK_DEFAULT_SERVER=$slave "$fxd" --http-port 0 -n "$fxd_name" \
		--reconnect --osc-port 0 \
		--no-mlock --connect-in '^system:capture_' \
		--connect-out '^system:playback_' "$@" \
		>>"$fxd_log" 2>&1 </dev/null &
	fxd_pid=$!
	port=$(await_fxd "$fxd_pid" "$fxd_log" 300)
	fxd_latency=$(sed -n 's/.*ready:.*latency \([0-9]*\) frames.*/\1/p' \
		"$fxd_log" | head -n 1)
	[ -n "$fxd_latency" ]
}

# mode NAME EXTRA [JACKD OPTIONS]: netjack's own round trip, then through
# fxd, which must add its latency and EXTRA frames.
mode() {
	name=$1 extra=$2
	shift 2
	slave=fxdnjs-$$-$(rand)
	fxd_name=fxnj-$$-$name
	start_slave "$@"
	pass_or_bail "$name: the slave $box joins the master" $? "no slave"
	on_slave jack_connect system:capture_1 system:playback_1 &&
		on_slave jack_connect system:capture_2 system:playback_2
	loop_probe ""
	direct=$(one_lag)
	[ -n "$direct" ]
	verdict "$name: netjack's round trip, straight through the slave: ${direct:-?} frames" $?
	on_slave jack_disconnect system:capture_1 system:playback_1
	on_slave jack_disconnect system:capture_2 system:playback_2
	slave_fxd
	verdict "$name: fxd runs on the slave, latency ${fxd_latency:-?} frames" $?
	want=$((${direct:-0} + ${fxd_latency:-0} + extra))
	loop_probe "$want"
	[ "$rc" -eq 0 ] && [ "$(one_lag)" = "$want" ]
	verdict "$name: through fxd, exactly $want frames (netjack $direct + fxd $fxd_latency + $extra), on the signal" $?
	eval "direct_$name=\$direct through_$name=\$want"
}

start_master_at 48000 || bail "no master"
pass "the master $master runs netmanager on 127.0.0.1"
mode async 256
echo "# async: netjack $direct_async frames, with fxd $through_async"

# The master restarted: the slave joins again and its system ports come
# back; fxd links them again (defect 4).
stop_master
start_master_at 48000 || bail "the master does not start again"
poll 300 slave_joined
pass_or_bail "the master restarted: the slave joins again" $? "no slave"
linked() {
	on_slave jack_lsp -c 2>/dev/null | sed -n "/^$fxd_name:in_1\$/,/^[^ \t]/p" |
		grep -q 'system:capture_1'
}
poll 300 linked
verdict "fxd links system:capture_1 again once the slave's ports are back" $?
loop_probe "$through_async"
[ "$rc" -eq 0 ] && [ "$(one_lag)" = "$through_async" ]
verdict "after the restart, through fxd again: $through_async frames" $?

# The master back at 44100 Hz: the slave follows, and fxd with it.
stop_master
start_master_at 44100 || bail "the master does not start at 44100"
rate_said() { grep -q 'sample rate is now 44100 Hz' "$tmp/fxd.log"; }
poll 300 slave_joined && poll 300 rate_said
verdict "the master back at 44100 Hz: fxd logs the new rate" $?

# Sync mode, the master at 48000 Hz again.
stop_helpers
stop_master
start_master_at 48000 || bail "the master does not start again"
mode sync 0 -S
echo "# sync: netjack $direct_sync frames, with fxd $through_sync"
[ $((through_async - through_sync)) -eq 256 ]
verdict "-S costs one period (256 frames) less than async" $?

[ "$n" -eq 14 ] || { echo "# ran $n tests, planned 14"; bad=1; }
exit $bad
