# SPDX-License-Identifier: ISC
# fxd — shell helpers for the TAP tests that run the real fxd on a private
# `jackd -d dummy` (sourced by tests/integration/test_jack_files.sh, test_probe.sh,
# test_service.sh, test_fxctl.sh and test_pd.sh; test_fxfile.sh uses the
# generic ones). A test may redefine show and stop_helpers after sourcing.
# shellcheck shell=sh disable=SC2034 # variables set here are the test's

# skip REASON: a TAP skip plan, and out.
skip() {
	echo "1..0 # SKIP $1"
	exit 0
}

# jack_serialise: runs this test script again, from its start, under this
# user's JACK test lock (fx_test_jack_lock in jack_harness.h: JACK's
# metadata store in /dev/shm is one per user, and a server that stops
# deletes it under any process opening it), so call it before the test
# prints anything. flock -o holds the lock, not the test's own processes;
# $FX_JACK_LOCK_HELD tells the rerun (and jack_reclaim) that it is held.
# A lock still held after 900 s is a bail-out. The tests take no arguments.
# Where it may (root), the rerun also gets a JACK world of its own, as the
# C tests do (jack_harness.h): a mount and IPC namespace with a fresh tmpfs
# on /dev/shm, so nothing a killed or hung server leaves reaches another
# test.
jack_serialise() {
	[ -z "${FX_JACK_LOCK_HELD:-}" ] || return 0
	FX_JACK_LOCK_HELD=/dev/shm/fxd-jack-tests-$(id -u).lock
	export FX_JACK_LOCK_HELD
	set -- /bin/sh "$0"
	if unshare -m -i true 2>/dev/null; then
		set -- unshare -m -i /bin/sh -c \
			'mount -t tmpfs -o mode=1777,nosuid,nodev fxd-jack-test /dev/shm ||
			echo "harness: no private /dev/shm: the test shares it" >&2
			exec "$@"' sh "$@"
	fi
	flock -o -w 900 -E 75 "$FX_JACK_LOCK_HELD" "$@"
	rc=$?
	[ "$rc" != 75 ] ||
		echo "Bail out! $FX_JACK_LOCK_HELD still held after 900 s"
	exit "$rc"
}

# A random 16-bit number, for unique server and client names.
rand() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }

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

# stop_or_kill PID: SIGTERM, and SIGKILL if PID still runs 5 s later;
# nothing for an empty PID.
stop_or_kill() {
	[ -n "$1" ] || return 0
	stop "$1" TERM 50 || stop "$1" KILL 20
}

# stop_jackd PID NAME: SIGTERM, then SIGKILL; what a killed server leaves
# in /dev/shm blocks its name, so it goes.
stop_jackd() {
	[ -n "$1" ] || return 0
	kill -CONT "$1" 2>/dev/null # a test may have stopped it (SIGSTOP)
	stop "$1" TERM 50 && return 0
	stop "$1" KILL 20
	rm -f "/dev/shm/jack_$2" "/dev/shm/jack_${2}_"* \
		"/dev/shm/jack_sem."*"_${2}_"*
	reclaim_registry "$2"
}

# reclaim_registry [NAME]: a killed jackd keeps its slot in JACK's shared
# registry (8 per user; with all taken by dead servers no jackd starts):
# give back every dead server's slot, and NAME's (a server this test
# killed), with tests/integration/jack_reclaim (built by make check).
reclaim_registry() {
	r=${builddir:-.}/tests/integration/jack_reclaim
	[ -x "$r" ] && "$r" "$@" >/dev/null 2>&1
	return 0
}

# start_jackd NAME PERIOD LOG: a private `jackd -d dummy` at 48 kHz, its
# output appended to LOG; sets jack_pid and returns once the server answers
# (1 if it does not within 10 s).
start_jackd() {
	reclaim_registry
	jackd_name=$1
	jackd -n "$1" --no-realtime -d dummy -r 48000 -p "$2" \
		>>"$3" 2>&1 </dev/null &
	jack_pid=$!
	poll 100 jackd_answers
}
jackd_answers() {
	kill -0 "$jack_pid" 2>/dev/null || return 2
	JACK_DEFAULT_SERVER=$jackd_name jack_lsp >/dev/null 2>&1
}

n=0
bad=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; bad=1; }

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

# A UDP port nothing is bound to (it may be taken before it is bound; the
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

# require_tools TOOL...: skips the whole test unless every TOOL is found.
require_tools() {
	for tool; do
		command -v "$tool" >/dev/null 2>&1 || skip "$tool not found"
	done
}

# jack_test_begin NAME: what a test of fxd on a private dummy JACK server
# starts with: $builddir, $fxd and $fxctl (FXD_BIN, FXCTL_BIN override
# them), a fresh directory $tmp (fxd-NAME.*), a server name $server
# (fxdNAME-PID-RANDOM) that every JACK client of the test is sent to (none
# starts a server of its own), empty $jack_pid and $fxd_pid, an empty last
# command for show, and the traps: at exit jack_test_end. It begins with
# jack_serialise.
jack_test_begin() {
	jack_serialise
	builddir=${abs_top_builddir:-${top_builddir:-.}}
	fxd=${FXD_BIN:-$builddir/daemon/fxd}
	fxctl=${FXCTL_BIN:-$builddir/clients/fxctl}
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/fxd-$1.XXXXXX") || exit 1
	server=fxd$1-$$-$(rand)
	jack_pid=
	fxd_pid=
	trap jack_test_end EXIT
	trap 'exit 1' INT TERM HUP
	JACK_NO_START_SERVER=1
	JACK_DEFAULT_SERVER=$server
	export JACK_NO_START_SERVER JACK_DEFAULT_SERVER
	cmd=
	rc=0
	: >"$tmp/out"
	: >"$tmp/err"
}

# stop_helpers: the test's own background processes, stopped before fxd at
# exit; a test that starts some redefines it.
stop_helpers() { :; }

# jack_test_end: stop_helpers, then fxd, jackd, and $tmp goes.
jack_test_end() {
	stop_helpers
	stop_or_kill "$fxd_pid"
	stop_jackd "$jack_pid" "$server"
	rm -rf "$tmp"
}

# logs [NAME...]: $tmp/NAME.log for each NAME (default: those in
# $log_names, or jackd and fxd) that is not empty, as TAP comments.
logs() {
	# shellcheck disable=SC2086 # a list of names
	[ $# -gt 0 ] || set -- ${log_names:-jackd fxd}
	for f; do
		[ -s "$tmp/$f.log" ] && sed "s/^/# $f: /" "$tmp/$f.log"
	done
	return 0
}

# bail REASON: TAP's "Bail out!", the logs, exit 1.
bail() {
	echo "Bail out! $1"
	logs
	exit 1
}

# show_command: the last command ($cmd), its status ($rc), stdout
# ($tmp/out) and stderr ($tmp/err), as TAP comments.
show_command() {
	echo "# command: $cmd"
	echo "# exit status $rc"
	sed 's/^/# stdout: /' "$tmp/out"
	sed 's/^/# stderr: /' "$tmp/err"
}

# show: what verdict adds to a failure: show_command and fxd's log.
show() {
	show_command
	logs fxd
}

# verdict DESC STATUS: ok DESC when STATUS is 0, else not ok and show.
verdict() {
	if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1"; show; fi
}

# pass_or_bail DESC STATUS REASON: ok DESC when STATUS is 0, else not ok
# DESC and bail REASON.
pass_or_bail() {
	[ "$2" -eq 0 ] && { pass "$1"; return 0; }
	fail "$1"
	bail "$3"
}

# capture COMMAND...: runs COMMAND (killed after 15 s: fxctl bounds every
# wait by --timeout, so a hang is a failure); $rc, $tmp/out and $tmp/err
# hold what it did, $cmd what it was.
capture() {
	cmd=$*
	timeout -k 2 15 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
}

# fx ARGS...: capture fxctl ARGS against the fxd on $port.
fx() { capture "$fxctl" --port "$port" "$@"; }

# await_fxd PID LOG TENTHS: waits at most TENTHS/10 s for fxd PID to write
# its ready line, with an OSC port, to LOG, and prints that port; status 1
# when fxd ends first or is not ready in time.
await_fxd() {
	awaited_pid=$1 awaited_log=$2
	poll "$3" fxd_ready || return 1
	sed -n 's/.*ready:.*osc udp[+a-z]* [0-9.]*:\([0-9][0-9]*\).*/\1/p' \
		"$awaited_log" | head -n 1
}
# fxd_ready: await_fxd's test for poll (2, give up, once fxd has ended).
fxd_ready() {
	kill -0 "$awaited_pid" 2>/dev/null || return 2
	grep -q 'ready:.*osc udp[+a-z]* [0-9.]*:[0-9]' "$awaited_log"
}

# start_fxd LOG TENTHS ARGS...: fxd ARGS in the background as $fxd_pid,
# its output in LOG (emptied before fxd starts, so that no poll finds it
# missing); $port is the OSC port of its ready line, awaited for at most
# TENTHS/10 s (empty, status 1, when it did not come).
start_fxd() {
	fxd_log=$1
	tenths=$2
	shift 2
	: >"$fxd_log"
	# HTTP on a free port unless the test says otherwise (the last
	# --http-port wins): tests run side by side.
	"$fxd" --http-port 0 "$@" >>"$fxd_log" 2>&1 </dev/null &
	fxd_pid=$!
	port=$(await_fxd "$fxd_pid" "$fxd_log" "$tenths")
}
