#!/bin/sh
# SPDX-License-Identifier: ISC
# fxd as a service (daemon/main.c, systemd/README.md) on a private dummy
# JACK server (TAP): what it tells a service manager through a fake
# NOTIFY_SOCKET (a datagram socket this test reads): READY=1, STATUS= and
# WATCHDOG=1, and while jackd is stopped (SIGSTOP) a STATUS= that says
# "stalled" with no WATCHDOG=1 until audio flows again; a taken OSC port
# exits 6 in one line (the units do not retry it); --osc-port-by-name and
# fxctl --instance agree on a port; SIGHUP names the options that wait for
# a restart; a period change is logged once, with its latency. Skips when
# jackd or python3 is missing.
# shellcheck disable=SC2317 # functions run from trap and poll
set -u
. "${srcdir:-.}/tests/integration/jack_lib.sh"

py=/usr/bin/python3
[ -x "$py" ] || py=python3
require_tools jackd jack_lsp jack_bufsize "$py" timeout
jack_test_begin svc
client=fxs-$$-$(rand)
other_pid=
listen_pid=
stop_helpers() {
	stop_or_kill "$other_pid"
	stop_or_kill "$listen_pid"
}
log_names="jackd fxd other notify"
show() { logs; }

echo "1..14"
[ -x "$fxd" ] || bail "$fxd not found (set FXD_BIN)"
[ -x "$fxctl" ] || bail "$fxctl not found (set FXCTL_BIN)"
for f in $log_names; do : >"$tmp/$f.log"; done

# ---- a fake service manager: one line per datagram, fields joined by | ---
"$py" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a")
while True:
    d = s.recv(65536).decode("utf-8", "replace")
    out.write(d.strip().replace("\n", "|") + "\n")
    out.flush()' "$tmp/notify.sock" "$tmp/notify.log" &
listen_pid=$!
sock_up() { [ -S "$tmp/notify.sock" ]; }
poll 100 sock_up || bail "the notify listener did not start"

start_jackd "$server" 256 "$tmp/jackd.log" || bail "no JACK server"
pass "jackd -d dummy runs as $server"

# ---- fxd under the fake manager, from a config file ------------------------
port=$(free_udp_port) || bail "no free UDP port"
cfg=$tmp/fxd.conf
printf 'osc-port = %s\npreset-dir = %s\nstate-file = %s\n[chain]\nvol:gain db=-3\n' \
	"$port" "$tmp/presets" "$tmp/state" >"$cfg"
NOTIFY_SOCKET=$tmp/notify.sock WATCHDOG_USEC=600000 \
	"$fxd" -n "$client" --no-mlock -f "$cfg" \
	>>"$tmp/fxd.log" 2>&1 </dev/null &
fxd_pid=$!
await_fxd "$fxd_pid" "$tmp/fxd.log" 150 >/dev/null || bail "fxd did not start"
in_log() { # FILE PATTERN: a line of FILE matches the extended PATTERN
	kill -0 "$fxd_pid" 2>/dev/null || return 2
	grep -Eq "$2" "$1"
}
pass "fxd is ready, OSC on port $port"

notify=1
if ! poll 100 in_log "$tmp/notify.log" '^READY=1'; then
	notify=0
	# Built without libsystemd (daemon/notify_none.c): nothing is sent.
	for i in 3 4 5 6 7; do echo "ok $i # SKIP fxd sends no READY=1 (no libsystemd)"; done
	n=$((n + 5))
else
	pass "READY=1"
	poll 100 in_log "$tmp/notify.log" "^STATUS=client '$client': .*osc udp 127\\.0\\.0\\.1:$port\$"
	verdict "STATUS= sums up the client and names the OSC port" $?
	watchdogs() { [ "$(grep -c '^WATCHDOG=1$' "$tmp/notify.log")" -ge "$1" ]; }
	poll 100 watchdogs 3
	verdict "WATCHDOG=1 while audio flows" $?

	# A JACK stall: the server stops, the worker sees no period.
	kill -STOP "$jack_pid"
	poll 100 in_log "$tmp/notify.log" '^STATUS=stalled: no audio from JACK for [0-9]+ s, watchdog paused; '
	r=$?
	mark=$(grep -n '^STATUS=stalled' "$tmp/notify.log" | head -n 1 | cut -d: -f1)
	# The next refresh, seconds later, still says so; no ping meanwhile.
	stalled_again() {
		[ "$(grep -c '^STATUS=stalled: no audio from JACK for' "$tmp/notify.log")" -ge 2 ]
	}
	[ $r -eq 0 ] && poll 100 stalled_again &&
		! tail -n "+${mark:-1}" "$tmp/notify.log" | grep -q '^WATCHDOG=1$' &&
		grep -q 'stalled: no audio from JACK for [0-9]* s; the watchdog is paused' "$tmp/fxd.log"
	verdict "a JACK stall shows in STATUS= (and the log); no WATCHDOG=1 during it" $?
	kill -CONT "$jack_pid"
	flowing() {
		in_log "$tmp/fxd.log" 'audio flows again' &&
			tail -n "+${mark:-1}" "$tmp/notify.log" | grep -q '^WATCHDOG=1$' &&
			tail -n 1 "$tmp/notify.log" | grep -vq '^STATUS=stalled'
	}
	poll 150 flowing
	verdict "after SIGCONT: audio flows again, WATCHDOG=1 resumes" $?
fi

# ---- a second fxd on the same OSC port: exit 6, one line ------------------
"$fxd" -n "$client-b" --no-mlock --osc-port "$port" 'vol:gain' \
	>>"$tmp/other.log" 2>&1 </dev/null &
other_pid=$!
gone() { ! kill -0 "$other_pid" 2>/dev/null; }
poll 150 gone
wait "$other_pid"
rc=$?
other_pid=
[ $rc -eq 6 ] && [ "$(grep -c '^<3>' "$tmp/other.log")" -eq 1 ] &&
	grep -q "^<3>fxd: cannot listen for OSC (udp) on 127\\.0\\.0\\.1:$port: Address already in use" "$tmp/other.log"
verdict "a taken OSC port: exit 6 with one error line" $?

# ---- --osc-port-by-name and fxctl --instance ----------------------------------
# The rule of fxd(1): 8001 + FNV-1a(NAME) mod 999. A name whose port is
# free here.
rule() {
	"$py" -c 'import sys
h = 2166136261
for b in sys.argv[1].encode():
    h = ((h ^ b) * 16777619) & 0xffffffff
print(8001 + h % 999)' "$1"
}
i=0
while :; do
	inst=fxi-$$-$i
	iport=$(rule "$inst")
	udp_bound "$iport" || break
	i=$((i + 1))
	[ $i -lt 50 ] || bail "no free port in 8001..8999"
done
: >"$tmp/other.log"
"$fxd" -n "$inst" --no-mlock --osc-port-by-name 'vol:gain' \
	>>"$tmp/other.log" 2>&1 </dev/null &
other_pid=$!
await_fxd "$other_pid" "$tmp/other.log" 150 >/dev/null &&
	grep -q "ready: client '$inst', .* osc udp 127\\.0\\.0\\.1:$iport, http " "$tmp/other.log"
verdict "--osc-port-by-name: '$inst' listens on $iport, as the rule says" $?
out=$(timeout 10 "$fxctl" --instance "$inst" ping 2>&1)
echo "$out" | grep -Eq "^pong from fxd at 127\\.0\\.0\\.1:$iport in [0-9.]+ ms\$"
verdict "fxctl --instance $inst reaches it" $?
stop_or_kill "$other_pid"
other_pid=

# ---- SIGHUP: what waits for a restart is named ------------------------------
port2=$(free_udp_port) || bail "no free UDP port"
printf 'osc-port = %s\npreset-dir = %s\nstate-file = %s\n[chain]\nvol:gain db=-6\n' \
	"$port2" "$tmp/presets2" "$tmp/state2" >"$cfg"
kill -HUP "$fxd_pid"
poll 100 in_log "$tmp/fxd.log" 'reloaded .*: chain swapped'
r=$?
for key in osc-port preset-dir state-file; do
	grep -q "^<4>fxd: reload: '$key' changed in the config; it takes effect on restart\$" \
		"$tmp/fxd.log" || r=1
done
[ "$(grep -c "reload: '" "$tmp/fxd.log")" -eq 3 ] || r=1
verdict "SIGHUP: osc-port, preset-dir and state-file are named as waiting for a restart" $r
out=$(timeout 10 "$fxctl" --port "$port" get vol/db 2>&1)
[ "$out" = "/fx/vol/db -6" ]
verdict "the old OSC port still answers, with the reloaded chain" $?

# ---- a period change: one line, with the new latency --------------------------
jack_bufsize 512 >/dev/null 2>&1
poll 100 in_log "$tmp/fxd.log" 'period is now 512 frames, latency 512 frames'
r=$?
jack_bufsize 256 >/dev/null 2>&1
poll 100 in_log "$tmp/fxd.log" 'period is now 256 frames, latency 256 frames' || r=1
[ $r -eq 0 ] && [ "$(grep -c 'period is now 512 frames' "$tmp/fxd.log")" -eq 1 ] &&
	[ "$(grep -c 'period is now' "$tmp/fxd.log")" -eq 2 ]
verdict "a period change is logged once per change, with its latency" $?

stop "$fxd_pid" TERM 50
rc=$?
wait "$fxd_pid"
st=$?
fxd_pid=
[ $rc -eq 0 ] && [ $st -eq 0 ] &&
	{ [ $notify -eq 0 ] || grep -q '^STOPPING=1$' "$tmp/notify.log"; }
verdict "SIGTERM: STOPPING=1, exit 0" $?

[ "$n" -eq 14 ] || { echo "# ran $n tests, planned 14"; bad=1; }
exit $bad
