#!/bin/sh
# SPDX-License-Identifier: ISC
# fxd started and stopped again and again under pw-jack with WirePlumber
# running and a null sink linked (issue 17, defect 5), TAP. pipewire-jack
# 0.3.65's libjack is not safe against itself: fxd setting its ports'
# latency from the latency callback (PipeWire's thread) while its main
# thread linked ports crashed it (SIGSEGV, or a failed assertion in
# libjack) or hung it, about 7 runs in 210 (a hundred cycles here catch
# that 97 times in 100). Each cycle must come up ready
# with its four links made, and leave at SIGTERM with exit 0 within 15 s.
# Skips when PipeWire, D-Bus or WirePlumber cannot start.
# shellcheck disable=SC2317 # functions run from trap and poll
set -u
. "${srcdir:-.}/tests/integration/jack_lib.sh"
. "${srcdir:-.}/tests/integration/pw_lib.sh"

require_tools pipewire pw-jack pw-cli wireplumber dbus-daemon ss timeout setsid
builddir=${abs_top_builddir:-${top_builddir:-.}}
fxd=${FXD_BIN:-$builddir/daemon/fxd}
cycles=${FXD_PW_CYCLES:-100}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fxd-pwcycles.XXXXXX") || exit 1
pw_pid='' fxd_pid='' wp_pid='' dbus_pid=''
log_names="pipewire wireplumber fxd"
finish() {
	stop_or_kill "$fxd_pid"
	stop_or_kill "$wp_pid"
	stop_or_kill "$dbus_pid"
	pw_stop
	rm -rf "$tmp"
}
pw_test_begin
dbus-daemon --session --address="unix:path=$pw_run/bus" --nofork \
	>"$tmp/dbus.log" 2>&1 </dev/null &
dbus_pid=$!
DBUS_SESSION_BUS_ADDRESS=unix:path=$pw_run/bus
export DBUS_SESSION_BUS_ADDRESS
bus_up() { kill -0 "$dbus_pid" 2>/dev/null || return 2; [ -S "$pw_run/bus" ]; }
poll 100 bus_up || skip "a private D-Bus does not start here"
setsid wireplumber >"$tmp/wireplumber.log" 2>&1 </dev/null &
wp_pid=$!
# The sink is made once WirePlumber manages the graph; its ports are
# JACK ports of a client named after the node.
sink=fxdsink$$
sink_ports() {
	kill -0 "$wp_pid" 2>/dev/null || return 2
	[ "$(pw-jack jack_lsp 2>/dev/null | grep -c "^$sink:")" -ge 4 ]
}
make_sink() {
	kill -0 "$wp_pid" 2>/dev/null || return 2
	timeout 5 pw-cli create-node adapter "{ factory.name=support.null-audio-sink node.name=$sink media.class=Audio/Sink object.linger=1 audio.position=[FL FR] }" \
		>/dev/null 2>&1 && poll 50 sink_ports
}
poll 10 make_sink || skip "WirePlumber gives no null sink here ($(tail -n 1 "$tmp/wireplumber.log"))"
echo "1..3"
[ -x "$fxd" ] || bail "$fxd not found (set FXD_BIN)"
pass "PipeWire, D-Bus and WirePlumber run, the null sink $sink has its ports"

linked() { [ "$(grep -c 'connected ' "$tmp/fxd.log")" -ge 4 ]; }
gone() { ! kill -0 "$fxd_pid" 2>/dev/null; }
bad_start='' bad_stop=''
i=0
while [ "$i" -lt "$cycles" ]; do
	i=$((i + 1))
	: >"$tmp/fxd.log"
	pw-jack "$fxd" -n "fxcyc-$$" --osc-port 0 --http-port 0 --no-mlock \
		--connect-in "^$sink:monitor_" --connect-out "^$sink:playback_" \
		>>"$tmp/fxd.log" 2>&1 </dev/null &
	fxd_pid=$!
	if ! await_fxd "$fxd_pid" "$tmp/fxd.log" 300 >/dev/null || ! linked; then
		bad_start="$bad_start $i"
		echo "# cycle $i: not ready with 4 links"
		logs fxd
	fi
	kill -TERM "$fxd_pid" 2>/dev/null
	poll 150 gone
	if ! gone; then
		kill -KILL "$fxd_pid" 2>/dev/null
		echo "# cycle $i: still running 15 s after SIGTERM"
	fi
	wait "$fxd_pid"
	rc=$?
	fxd_pid=
	if [ "$rc" -ne 0 ]; then
		bad_stop="$bad_stop $i"
		echo "# cycle $i: exit status $rc"
		logs fxd
	fi
done
[ -z "$bad_start" ]
verdict "$cycles starts: each ready with its 4 links made${bad_start:+ (not:$bad_start)}" $?
[ -z "$bad_stop" ]
verdict "$cycles stops: each exits 0 at SIGTERM within 15 s${bad_stop:+ (not:$bad_stop)}" $?
