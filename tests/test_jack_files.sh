#!/bin/sh
# fxd's files while it runs, on a private `jackd -d dummy` (TAP), driven
# with fxctl: the state file is restored only under the configured chain
# it was saved under, one cut short is reported and not used, a preset
# saved over OSC does not follow a link planted at its old temporary name,
# and SIGHUP keeps the running chain when the config file is empty or has
# become a FIFO (which once blocked the main loop: SIGTERM then went
# unheard). Skips without jackd.
# shellcheck disable=SC2317 # functions run from trap and poll
set -u
. "${srcdir:-.}/tests/jack_lib.sh"

for tool in jackd jack_lsp timeout; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not found"
done

builddir=${abs_top_builddir:-${top_builddir:-.}}
fxd=${FXD_BIN:-$builddir/daemon/fxd}
fxctl=${FXCTL_BIN:-$builddir/clients/fxctl}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fxd-files.XXXXXX") || exit 1
server=fxdfiles-$$-$(rand)
client=fxf-$$-$(rand)
jack_pid=
fxd_pid=
starts=0

cleanup() {
	if [ -n "$fxd_pid" ]; then
		stop "$fxd_pid" TERM 50 || stop "$fxd_pid" KILL 20
	fi
	stop_jackd "$jack_pid" "$server"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

log() { echo "$tmp/fxd.$starts.log"; }
show() {
	echo "# command: $cmd"
	echo "# exit status $rc"
	sed 's/^/# stdout: /' "$tmp/out"
	sed 's/^/# stderr: /' "$tmp/err"
	[ -f "$(log)" ] && sed 's/^/# fxd: /' "$(log)"
	return 0
}
check() { # DESC STATUS
	if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1"; show; fi
}
bail() {
	echo "Bail out! $1"
	show
	exit 1
}
# fx ARGS...: fxctl ARGS against the running fxd; $rc, $tmp/out, $tmp/err.
fx() {
	cmd="fxctl $*"
	timeout -k 2 15 "$fxctl" --port "$port" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
}
# value PATH WANT: fxctl get PATH prints "PATH WANT".
value() {
	fx get "$1"
	[ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = "$1 $2" ]
}

echo "1..12"
[ -x "$fxd" ] || bail "$fxd not found (set FXD_BIN)"
[ -x "$fxctl" ] || bail "$fxctl not found (set FXCTL_BIN)"
: >"$tmp/out"
: >"$tmp/err"
cmd=
rc=0

JACK_NO_START_SERVER=1
JACK_DEFAULT_SERVER=$server
export JACK_NO_START_SERVER JACK_DEFAULT_SERVER
: >"$tmp/jackd.log"
jackd -n "$server" --no-realtime -d dummy -r 48000 -p 256 \
	>>"$tmp/jackd.log" 2>&1 </dev/null &
jack_pid=$!
jack_up() {
	kill -0 "$jack_pid" 2>/dev/null || return 2
	jack_lsp >/dev/null 2>&1
}
poll 100 jack_up || bail "no JACK server"

conf=$tmp/fxd.conf
state=$tmp/state
mkdir "$tmp/presets"

fxd_ready() {
	kill -0 "$fxd_pid" 2>/dev/null || return 2
	grep -q 'ready:.*osc udp[+a-z]* [0-9.]*:[0-9]' "$(log)"
}
# start_fxd: fxd on $conf and $state, with its own log; $port.
start_fxd() {
	starts=$((starts + 1))
	: >"$(log)"
	"$fxd" -n "$client" --osc-port 0 --no-mlock -f "$conf" \
		--state-file "$state" --preset-dir "$tmp/presets" \
		>>"$(log)" 2>&1 </dev/null &
	fxd_pid=$!
	cmd="fxd -f $conf --state-file $state"
	poll 150 fxd_ready || bail "fxd did not get ready"
	port=$(sed -n 's/.*ready:.*osc udp[+a-z]* [0-9.]*:\([0-9][0-9]*\).*/\1/p' \
		"$(log)" | head -n 1)
}
# stop_fxd: SIGTERM; 0 if it ended within 10 s.
stop_fxd() {
	stop "$fxd_pid" TERM 100 && { fxd_pid=; return 0; }
	stop "$fxd_pid" KILL 20
	fxd_pid=
	return 1
}
state_has() { [ -f "$state" ] && grep -q -- "$1" "$state" && grep -q "^end " "$state"; }
logged() { grep -q -- "$1" "$(log)" || return 1; }

# ---- the state file against the config ----------------------------------------
printf '[chain]\ndly:delay time=350 mix=0 | vol:gain db=0\n' >"$conf"
start_fxd
fx set /fx/vol/db -3
poll 100 state_has 'vol:gain db=-3'
check "a change is saved with the config's hash and an end line" $?

stop_fxd
start_fxd
value /fx/vol/db -3
check "restarted under the same config: the state is restored" $?

# The user edits the chain in the config, then restarts.
printf '[chain]\ndly:delay time=350 mix=0 | vol:gain db=-12\n' >"$conf"
stop_fxd
start_fxd
value /fx/vol/db -12 && logged "configured chain changed since $state was saved"
check "the config's chain changed: it wins, and the log says why" $?

# A state file cut in the middle of "time=350".
fx set /fx/vol/db -5
poll 100 state_has 'vol:gain db=-5'
stop_fxd
at=$(grep -bo 'time=35' "$state" | head -n 1 | cut -d: -f1)
head -c $((at + 7)) "$state" >"$tmp/cut" && mv "$tmp/cut" "$state"
start_fxd
value /fx/dly/time 350 && value /fx/vol/db -12 && logged "cut short"
check "a state file cut short is reported and not used" $?

# ---- a preset through a planted link ----------------------------------------------
printf 'precious\n' >"$tmp/victim"
ln -s "$tmp/victim" "$tmp/presets/x.fxchain.tmp"
fx preset save x
[ $rc -eq 0 ] && [ "$(cat "$tmp/victim")" = precious ] &&
	[ -f "$tmp/presets/x.fxchain" ] && [ ! -L "$tmp/presets/x.fxchain" ] &&
	grep -q 'vol:gain db=-12' "$tmp/presets/x.fxchain"
check "preset save writes the preset, not the file a planted link points to" $?

# ---- SIGHUP ------------------------------------------------------------------------
: >"$conf"
kill -HUP "$fxd_pid"
poll 100 logged "reload failed, the running chain is kept: config file '$conf' is empty"
check "SIGHUP with an empty config file: one line" $?
value /fx/vol/db -12 && value /fx/dly/time 350
check "... and the running chain is kept (not the default chain)" $?

rm -f "$conf"
mkfifo "$conf"
kill -HUP "$fxd_pid"
poll 100 logged "config file '$conf' is a FIFO, not a regular file"
check "SIGHUP with a FIFO as config file: refused without reading it" $?
value /fx/vol/db -12
check "... the running chain is kept" $?
fx ping
check "... and OSC still answers" $rc
cmd="kill -TERM fxd"
rc=0
stop_fxd
check "... and SIGTERM still stops fxd (the main loop is not stuck)" $?
grep -q 'stopped' "$(log)"
check "... cleanly" $?

exit $bad
