#!/bin/sh
# SPDX-License-Identifier: ISC
# Zeroconf (issue 14; daemon/zeroconf.c, clients/fxctl_find.c), TAP, on a
# private D-Bus system bus (dbus-daemon with a config of its own in $tmp)
# and a private avahi-daemon on it: fxd runs and says once that it is not
# advertising while there is no avahi-daemon (and no bus at all), then
# advertises _osc._udp under its JACK client name as soon as the daemon
# appears; avahi-browse and fxctl --find see it with its port, fxctl -n
# NAME reaches it; a name already published (avahi-publish-service) makes
# fxd take avahi's alternative ("NAME #2"), which is found and reached;
# a stopped fxd withdraws its service. _oscjson._tcp is checked once fxd's
# ready line names an HTTP port. avahi-daemon's pid file is fixed
# (/run/avahi-daemon/pid), so it runs in a mount namespace of its own with
# a private /run (unshare; as root, or in a user namespace), publishing on
# lo only. The plan comes last: the avahi points are one SKIP line where
# avahi-daemon cannot run here.
# shellcheck disable=SC2317 # functions run from trap and poll
set -u
. "${srcdir:-.}/tests/integration/jack_lib.sh"

require_tools jackd jack_lsp dbus-daemon avahi-daemon avahi-browse \
	avahi-publish-service unshare timeout
jack_test_begin zc
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/nobus
export DBUS_SYSTEM_BUS_ADDRESS
if "$fxctl" --find --timeout 0.1 2>&1 | grep -q 'built without Zeroconf'; then
	skip "built without avahi-client (configure found no Zeroconf)"
fi

name=fxz-$$-$(rand)
name2=fxz2-$$-$(rand)
dbus_pid=
avahi_pid=
pub_pid=
fxd2_pid=
fxd3_pid=
stop_helpers() {
	stop_or_kill "$fxd3_pid"
	stop_or_kill "$fxd2_pid"
	stop_or_kill "$pub_pid"
	stop_or_kill "$avahi_pid"
	stop_or_kill "$dbus_pid"
}
log_names="jackd fxd fxd2 fxd3 dbus avahi publish"
finish() {
	echo "1..$n"
	exit $bad
}

# A system bus of the test's own: anyone may own and call anything.
cat >"$tmp/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
cat >"$tmp/avahi.conf" <<EOF
[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
EOF

bus_up() {
	kill -0 "$dbus_pid" 2>/dev/null || return 2
	[ -S "$tmp/bus" ]
}
: >"$tmp/dbus.log"
dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile \
	>"$tmp/dbus.log" 2>&1 </dev/null &
dbus_pid=$!
poll 300 bus_up || skip "dbus-daemon does not start: $(head -n 1 "$tmp/dbus.log")"

start_jackd "$server" 256 "$tmp/jackd.log" || bail "jackd did not start"

# ---- no avahi-daemon: fxd says so once and serves OSC -------------------
# said LOG TEXT: LOG has a line with TEXT (for poll).
said() { grep -qF -- "$2" "$1"; }

fxd3_log=$tmp/fxd3.log
# Every log a poll greps exists before its writer starts: a grep of a
# missing file (status 2) would end the poll at once.
: >"$fxd3_log"
"$fxd" -n "$name-nobus" --osc-port 0 --no-http --no-mlock --no-midi \
	>"$fxd3_log" 2>&1 </dev/null &
fxd3_pid=$!
port3=$(await_fxd "$fxd3_pid" "$fxd3_log" 300)
poll 300 said "$fxd3_log" 'not advertising yet: no D-Bus system bus'
verdict "no D-Bus system bus: fxd says it is not advertising yet" $?
capture "$fxctl" --port "$port3" ping
verdict "no D-Bus system bus: fxd serves OSC (ping)" $rc

DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/bus
start_fxd "$tmp/fxd.log" 300 -n "$name" --osc-port 0 --http-port 0 --no-mlock \
	--no-midi
[ -n "$port" ] || bail "fxd did not start"
poll 300 said "$tmp/fxd.log" 'not advertising yet: avahi-daemon is not running'
verdict "no avahi-daemon: fxd says it is not advertising yet" $?
capture "$fxctl" --port "$port" ping
verdict "no avahi-daemon: fxd serves OSC (ping)" $rc
capture "$fxctl" --find --timeout 1
[ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] && grep -q 'avahi-daemon' "$tmp/err"
verdict "no avahi-daemon: fxctl --find exits 2 and says why" $?
capture "$fxctl" -n "$name" ping
[ "$rc" -eq 2 ] && grep -q 'avahi-daemon' "$tmp/err"
verdict "no avahi-daemon: fxctl -n exits 2 and says why" $?

# ---- a private avahi-daemon ---------------------------------------------
# The mount namespace gives it a /run of its own for its fixed pid file and
# socket; exec keeps its PID the one started here.
if [ "$(id -u)" = 0 ]; then ns="unshare -m"; else ns="unshare -r -m"; fi
: >"$tmp/avahi.log"
$ns sh -c 'mount -t tmpfs tmpfs /run && mkdir /run/avahi-daemon &&
	exec avahi-daemon --no-drop-root --no-chroot --no-rlimits \
		--no-proc-title -f "$1"' avahi "$tmp/avahi.conf" \
	>"$tmp/avahi.log" 2>&1 </dev/null &
avahi_pid=$!
avahi_up() {
	kill -0 "$avahi_pid" 2>/dev/null || return 2
	grep -q 'Server startup complete' "$tmp/avahi.log"
}
if ! poll 300 avahi_up; then
	why=$(grep -v '^avahi-daemon .* starting up' "$tmp/avahi.log" | head -n 1)
	pass "fxd advertises with avahi-daemon # SKIP avahi-daemon cannot run here (${why:-no startup within 10 s})"
	finish
fi

# browse TYPE: avahi-browse's resolved lines for TYPE in $tmp/browse.
browse() {
	timeout 10 avahi-browse -rpt "$1" >"$tmp/browse" 2>"$tmp/browse.err"
}
# listed TYPE NAME PORT: NAME (as avahi-browse -p escapes it) is resolved
# on TYPE with PORT (for poll).
listed() {
	browse "$1"
	grep -q "^=;lo;IPv4;$2;$1;local;[^;]*;127\.0\.0\.1;$3;" "$tmp/browse"
}
# unlisted TYPE NAME: no resolved NAME on TYPE (for poll).
unlisted() {
	browse "$1"
	! grep -q "^=;[^;]*;[^;]*;$2;$1;" "$tmp/browse"
}
show_browse() {
	sed 's/^/# avahi-browse: /' "$tmp/browse"
	logs fxd avahi
}

poll 300 listed _osc._udp "$name" "$port"
r=$?
verdict "avahi-daemon appears: avahi-browse finds _osc._udp '$name' on port $port" $r
[ $r -eq 0 ] || show_browse
c=$(grep -c 'not advertising' "$tmp/fxd.log")
[ "$c" -eq 1 ] && grep -q "zeroconf: advertising '$name'" "$tmp/fxd.log"
verdict "fxd said 'not advertising' once ($c), then that it advertises" $?

http=$(sed -n 's/.*ready:.* http [0-9.]*:\([0-9][0-9]*\).*/\1/p' "$tmp/fxd.log" | head -n 1)
if [ -n "$http" ]; then
	poll 300 listed _oscjson._tcp "$name" "$http"
	verdict "avahi-browse finds _oscjson._tcp '$name' on port $http" $?
else
	pass "avahi-browse finds _oscjson._tcp # SKIP fxd's ready line names no HTTP port"
fi

capture "$fxctl" --find --timeout 3
tab=$(printf '\t')
if [ -n "$http" ]; then want_http=$http; else want_http=-; fi
[ "$rc" -eq 0 ] &&
	grep -q "^$name$tab[^$tab]*$tab$port$tab$want_http\$" "$tmp/out"
verdict "fxctl --find lists '$name' with OSC port $port, HTTP $want_http" $?

capture "$fxctl" -n "$name" ping
[ "$rc" -eq 0 ] && grep -q "^pong from fxd at 127\.0\.0\.1:$port in" "$tmp/out"
verdict "fxctl -n $name ping reaches fxd on 127.0.0.1:$port" $?
capture "$fxctl" --name "$name" get vol/db
[ "$rc" -eq 0 ] && [ "$(cat "$tmp/out")" = "/fx/vol/db 0" ]
verdict "fxctl --name $name get vol/db" $?
capture "$fxctl" -n "$name-none" ping --timeout 1
[ "$rc" -eq 3 ] && grep -q "no fxd advertised as '$name-none'" "$tmp/err"
verdict "fxctl -n with a name nobody advertises exits 3 and says so" $?

# The fxd with no bus keeps trying: once there is one, it advertises too.
# (It retries every 5 s; its bus address named no socket, so it stays
# without one: it must still say nothing more.)
c=$(grep -c 'not advertising' "$fxd3_log")
[ "$c" -eq 1 ]
verdict "fxd with no bus said 'not advertising' once ($c)" $?

# ---- a name already taken: avahi's alternative ---------------------------
: >"$tmp/publish.log"
avahi-publish-service "$name2" _osc._udp 9 txtvers=1 \
	>"$tmp/publish.log" 2>&1 </dev/null &
pub_pid=$!
poll 300 said "$tmp/publish.log" "Established under name '$name2'"
pass_or_bail "avahi-publish-service holds '$name2'" $? \
	"avahi-publish-service did not publish"
fxd2_log=$tmp/fxd2.log
: >"$fxd2_log"
"$fxd" -n "$name2" --osc-port 0 --no-http --no-mlock --no-midi \
	>"$fxd2_log" 2>&1 </dev/null &
fxd2_pid=$!
port2=$(await_fxd "$fxd2_pid" "$fxd2_log" 300)
[ -n "$port2" ] || bail "the second fxd did not start"
poll 300 said "$fxd2_log" "zeroconf: '$name2' is taken on the network; advertising as '$name2 #2'"
verdict "fxd named '$name2' logs the rename to '$name2 #2'" $?
# avahi-browse -p writes a space as \032 and '#' as \035.
esc2="$name2\\\\032\\\\0352"
poll 300 listed _osc._udp "$esc2" "$port2"
r=$?
verdict "avahi-browse finds '$name2 #2' on fxd's port $port2" $r
[ $r -eq 0 ] || { show_browse; logs fxd2; }
capture "$fxctl" -n "$name2 #2" ping
[ "$rc" -eq 0 ] && grep -q "^pong from fxd at 127\.0\.0\.1:$port2 in" "$tmp/out"
verdict "fxctl -n '$name2 #2' ping reaches the second fxd" $?
capture "$fxctl" --find --timeout 3
[ "$rc" -eq 0 ] &&
	grep -q "^$name2 #2$tab[^$tab]*$tab$port2$tab" "$tmp/out" &&
	grep -q "^$name2$tab[^$tab]*${tab}9$tab-\$" "$tmp/out"
verdict "fxctl --find lists '$name2 #2' and the other '$name2' apart" $?

# ---- a stopped fxd withdraws its service --------------------------------
stop "$fxd2_pid" TERM 100
verdict "the second fxd stops on SIGTERM" $?
fxd2_pid=
poll 300 unlisted _osc._udp "$esc2"
verdict "its service is withdrawn" $?

finish
