#!/bin/sh
# The Pure Data patch clients/pd/fxd-control.pd against the real fxd on a
# private dummy JACK server (TAP). A driver patch loads the shipped patch as
# an abstraction and drives its own controls through their receive names
# (fxd-lpf-cutoff 2000 moves the slider, which sends /fx/lpf/cutoff), then
# subscribes through the patch's subscribe button. The test then checks
# that the patch showed fxd's feedback and meters, and, through a
# subscription of its own (oscdump), that fxd applied what the patch sent.
# Skips when pd, jackd or liblo-tools are missing.
# shellcheck disable=SC2317 # functions run from trap and poll
set -u

skip() {
	echo "1..0 # SKIP $1"
	exit 0
}
for tool in pd jackd jack_lsp oscsend oscdump timeout; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not found"
done

builddir=${abs_top_builddir:-${top_builddir:-.}}
fxd=${FXD_BIN:-$builddir/daemon/fxd}
patchdir=$(cd "${srcdir:-.}/clients/pd" 2>/dev/null && pwd) || patchdir=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fxd-pd.XXXXXX") || exit 1

rand() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }
server=fxdpd-$$-$(rand)
jack_pid=
fxd_pid=
dump_pid=

# stop PID SIGNAL TENTHS: signals PID and waits for it, at most TENTHS/10 s.
stop() {
	kill "-$2" "$1" 2>/dev/null || return 0
	left=$3
	while [ "$left" -gt 0 ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.1
		left=$((left - 1))
	done
	! kill -0 "$1" 2>/dev/null
}

cleanup() {
	[ -n "$dump_pid" ] && stop "$dump_pid" TERM 20
	if [ -n "$fxd_pid" ]; then
		stop "$fxd_pid" TERM 50 || stop "$fxd_pid" KILL 20
	fi
	if [ -n "$jack_pid" ] && ! stop "$jack_pid" TERM 50; then
		stop "$jack_pid" KILL 20
		# What a killed server leaves behind blocks its name.
		rm -f "/dev/shm/jack_$server" "/dev/shm/jack_${server}_"* \
			"/dev/shm/jack_sem."*"_${server}_"*
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

n=0
bad=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; bad=1; }
logs() {
	for f in jackd fxd pd dump; do
		[ -s "$tmp/$f.log" ] && sed "s/^/# $f: /" "$tmp/$f.log"
	done
	return 0
}
bail() {
	echo "Bail out! $1"
	logs
	exit 1
}

# poll TENTHS COMMAND...: runs COMMAND every 0.1 s until it succeeds, at
# most TENTHS times; a status of 2 gives up at once.
poll() {
	tries=$1
	shift
	while [ "$tries" -gt 0 ]; do
		"$@"
		case $? in 0) return 0 ;; 2) return 1 ;; esac
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

# A UDP port nothing is bound to (it may be taken before we bind it; the
# odds are small and the failure is loud).
free_udp_port() {
	i=0
	while [ $i -lt 100 ]; do
		p=$((20000 + $(rand) % 40000))
		hex=$(printf '%04X' "$p")
		if ! grep -q ":$hex " /proc/net/udp /proc/net/udp6 2>/dev/null
		then
			echo "$p"
			return 0
		fi
		i=$((i + 1))
	done
	return 1
}
udp_bound() { grep -q ":$(printf '%04X' "$1") " /proc/net/udp /proc/net/udp6; }

echo "1..9"
if [ -z "$patchdir" ] || [ ! -f "$patchdir/fxd-control.pd" ]; then
	bail "clients/pd/fxd-control.pd not found (srcdir=${srcdir:-unset})"
fi
[ -x "$fxd" ] || bail "$fxd not found (set FXD_BIN)"

# ---- a private JACK server and fxd on it -----------------------------------
JACK_NO_START_SERVER=1
JACK_DEFAULT_SERVER=$server
export JACK_NO_START_SERVER JACK_DEFAULT_SERVER
jackd -n "$server" --no-realtime -d dummy -r 48000 -p 256 \
	>"$tmp/jackd.log" 2>&1 </dev/null &
jack_pid=$!
jack_up() {
	kill -0 "$jack_pid" 2>/dev/null || return 2
	jack_lsp >/dev/null 2>&1
}
if poll 100 jack_up; then
	pass "jackd -d dummy runs as $server"
else
	fail "jackd -d dummy runs as $server"
	bail "no JACK server"
fi

XDG_DATA_HOME=$tmp
export XDG_DATA_HOME
"$fxd" -n fxdpd --osc-port 0 --no-mlock >"$tmp/fxd.log" 2>&1 </dev/null &
fxd_pid=$!
fxd_ready() {
	kill -0 "$fxd_pid" 2>/dev/null || return 2
	grep -q 'ready:.*osc udp[+a-z]* [0-9.]*:[0-9]' "$tmp/fxd.log" 2>/dev/null
}
port=
# Generous: a sanitizer build on a loaded 2-core machine starts slowly.
if poll 300 fxd_ready; then
	port=$(sed -n 's/.*ready:.*osc udp[+a-z]* [0-9.]*:\([0-9][0-9]*\).*/\1/p' \
		"$tmp/fxd.log" | head -n 1)
fi
if [ -n "$port" ]; then
	pass "fxd is ready, OSC on UDP port $port"
else
	fail "fxd is ready, OSC on UDP port $port"
	bail "fxd did not print its ready line with an OSC port"
fi

# Set from outside before Pd starts, so that the patch can only learn it
# from fxd's feedback. fxd reads its one socket in order, so this is
# applied before anything Pd sends.
oscsend 127.0.0.1 "$port" /fx/hpf/cutoff f 150 ||
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
#X msg 10 70 \; fxd-listen listen $pd_port \; fxd-connect connect 127.0.0.1 $port \; fxd-lpf-cutoff 2000 \; fxd-vol-db -6 \; fxd-eq-bypass 1 \; fxd-mute 1 \; fxd-subscribe bang;
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
if grep -q '^fxd-test-meters: set [-0-9.e ]*$' "$tmp/pd.log"; then
	pass "the patch shows /fxd/meters"
else
	fail "the patch shows /fxd/meters"
fi

# ---- what fxd applied: its full state, sent to a subscriber ---------------
dump_port=$(free_udp_port) || bail "no free UDP port"
oscdump -L "$dump_port" >"$tmp/dump.log" 2>&1 </dev/null &
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

# has ADDRESS TYPE VALUE: the state holds ADDRESS ,TYPE VALUE.
has() {
	grep -Eq "(^|[[:space:]])$1 $2 $3(\.0+)?[[:space:]]*\$" "$tmp/dump.log"
}
check() {
	if has "$2" "$3" "$4"; then pass "$1"; else fail "$1"; fi
}
check "lpf cutoff slider: fxd has /fx/lpf/cutoff 2000" /fx/lpf/cutoff f 2000
check "vol db slider: fxd has /fx/vol/db -6" /fx/vol/db f -6
check "eq bypass toggle: fxd has /fx/eq/bypass 1" /fx/eq/bypass i 1
check "mute toggle: fxd has /fxd/mute 1" /fxd/mute i 1

[ $bad -eq 0 ] || logs
exit $bad
