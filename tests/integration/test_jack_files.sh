#!/bin/sh
# SPDX-License-Identifier: ISC
# fxd's files while it runs, on a private `jackd -d dummy` (TAP), driven
# with fxctl: the state file is restored only under the configured chain
# it was saved under, one cut short is reported and not used, a preset
# saved over OSC does not follow a link planted at its old temporary name,
# and SIGHUP keeps the running chain when the config file is empty or has
# become a FIFO (which once blocked the main loop: SIGTERM then went
# unheard). Skips without jackd.
# shellcheck disable=SC2317 # functions run from trap and poll
set -u
. "${srcdir:-.}/tests/integration/jack_lib.sh"

require_tools jackd jack_lsp timeout
jack_test_begin files
client=fxf-$$-$(rand)

echo "1..12"
[ -x "$fxd" ] || bail "$fxd not found (set FXD_BIN)"
[ -x "$fxctl" ] || bail "$fxctl not found (set FXCTL_BIN)"
start_jackd "$server" 256 "$tmp/jackd.log" || bail "no JACK server"

conf=$tmp/fxd.conf
state=$tmp/state
mkdir "$tmp/presets"

# value PATH WANT: fxctl get PATH prints "PATH WANT".
value() {
	fx get "$1"
	[ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = "$1 $2" ]
}
# run_fxd: fxd on $conf, $state and $tmp/presets (each start empties its log).
run_fxd() {
	start_fxd "$tmp/fxd.log" 150 -n "$client" --osc-port 0 --no-mlock \
		-f "$conf" --state-file "$state" --preset-dir "$tmp/presets" ||
		bail "fxd did not get ready"
}
# stop_fxd: SIGTERM; 0 if it ended within 10 s.
stop_fxd() {
	stop "$fxd_pid" TERM 100 && { fxd_pid=; return 0; }
	stop "$fxd_pid" KILL 20
	fxd_pid=
	return 1
}
state_has() { [ -f "$state" ] && grep -q -- "$1" "$state" && grep -q "^end " "$state"; }
logged() { grep -q -- "$1" "$tmp/fxd.log" || return 1; }

# ---- the state file against the config ----------------------------------------
printf '[chain]\ndly:delay time=350 mix=0 | vol:gain db=0\n' >"$conf"
run_fxd
fx set /fx/vol/db -3
poll 100 state_has 'vol:gain db=-3'
verdict "a change is saved with the config's hash and an end line" $?

stop_fxd
run_fxd
value /fx/vol/db -3
verdict "restarted under the same config: the state is restored" $?

# The user edits the chain in the config, then restarts.
printf '[chain]\ndly:delay time=350 mix=0 | vol:gain db=-12\n' >"$conf"
stop_fxd
run_fxd
value /fx/vol/db -12 && logged "configured chain changed since $state was saved"
verdict "the config's chain changed: it wins, and the log says why" $?

# A state file cut in the middle of "time=350".
fx set /fx/vol/db -5
poll 100 state_has 'vol:gain db=-5'
stop_fxd
at=$(grep -bo 'time=35' "$state" | head -n 1 | cut -d: -f1)
head -c $((at + 7)) "$state" >"$tmp/cut" && mv "$tmp/cut" "$state"
run_fxd
value /fx/dly/time 350 && value /fx/vol/db -12 && logged "cut short"
verdict "a state file cut short is reported and not used" $?

# ---- a preset through a planted link ----------------------------------------------
printf 'precious\n' >"$tmp/victim"
ln -s "$tmp/victim" "$tmp/presets/x.fxchain.tmp"
fx preset save x
[ $rc -eq 0 ] && [ "$(cat "$tmp/victim")" = precious ] &&
	[ -f "$tmp/presets/x.fxchain" ] && [ ! -L "$tmp/presets/x.fxchain" ] &&
	grep -q 'vol:gain db=-12' "$tmp/presets/x.fxchain"
verdict "preset save writes the preset, not the file a planted link points to" $?

# ---- SIGHUP ------------------------------------------------------------------------
: >"$conf"
kill -HUP "$fxd_pid"
poll 100 logged "reload failed, the running chain is kept: config file '$conf' is empty"
verdict "SIGHUP with an empty config file: one line" $?
value /fx/vol/db -12 && value /fx/dly/time 350
verdict "... and the running chain is kept (not the default chain)" $?

rm -f "$conf"
mkfifo "$conf"
kill -HUP "$fxd_pid"
poll 100 logged "config file '$conf' is a FIFO, not a regular file"
verdict "SIGHUP with a FIFO as config file: refused without reading it" $?
value /fx/vol/db -12
verdict "... the running chain is kept" $?
fx ping
verdict "... and OSC still answers" $rc
cmd="kill -TERM fxd"
rc=0
stop_fxd
verdict "... and SIGTERM still stops fxd (the main loop is not stuck)" $?
grep -q 'stopped' "$tmp/fxd.log"
verdict "... cleanly" $?

exit $bad
