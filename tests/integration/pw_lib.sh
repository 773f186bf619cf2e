# SPDX-License-Identifier: ISC
# fxd — shell helpers for tests that run fxd under PipeWire's JACK layer
# (pw-jack) on a private, headless PipeWire (sourced after jack_lib.sh by
# tests/integration/test_pipewire.sh). The PipeWire of the session, if
# any, is never used: pw-jack ignores JACK_DEFAULT_SERVER, so the server
# is chosen by a private XDG_RUNTIME_DIR (and PIPEWIRE_RUNTIME_DIR, which
# wins over it), and pw_is_ours checks the socket belongs to our PID.
# The default config's Dummy-Driver drives JACK clients: no session
# manager or D-Bus is needed for them.
# shellcheck shell=sh disable=SC2034 # variables set here are the test's

# pw_env DIR: the environment of every PipeWire process and client of the
# test: DIR/run (mode 700) as the runtime dir, DIR/config as
# XDG_CONFIG_HOME, the socket pipewire-0 in it.
pw_env() {
	pw_run=$1/run
	mkdir -p "$pw_run" "$1/config" && chmod 700 "$pw_run" || return 1
	XDG_RUNTIME_DIR=$pw_run
	PIPEWIRE_RUNTIME_DIR=$pw_run
	PIPEWIRE_REMOTE=pipewire-0
	XDG_CONFIG_HOME=$1/config
	export XDG_RUNTIME_DIR PIPEWIRE_RUNTIME_DIR PIPEWIRE_REMOTE \
		XDG_CONFIG_HOME
	unset DBUS_SESSION_BUS_ADDRESS PIPEWIRE_LATENCY
	# Under the sanitizers: pipewire-jack 0.3.65's libjack leaks its
	# ports and properties at jack_client_close, and some of it from a
	# module already unloaded, which no suppression can name. fxd's own
	# leaks are checked by the tests under jackd.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	export ASAN_OPTIONS
}

# pw_start LOG: `setsid pipewire` (its own session, so a signal to the
# test's group never reaches it) with its output appended to LOG; sets
# pw_pid and returns once its socket answers (1 if not within 15 s).
pw_start() {
	setsid pipewire >>"$1" 2>&1 </dev/null &
	pw_pid=$!
	poll 150 pw_answers
}
pw_answers() {
	kill -0 "$pw_pid" 2>/dev/null || return 2
	[ -S "$pw_run/pipewire-0" ] && pw_is_ours &&
		timeout 5 pw-cli info 0 >/dev/null 2>&1
}

# pw_is_ours: the socket clients find is the one pipewire $pw_pid listens
# on (ss lists the owner of a listening unix socket).
pw_is_ours() {
	ss -xlpn 2>/dev/null | grep -F "$pw_run/pipewire-0 " |
		grep -q "pid=$pw_pid,"
}

# pw_client_pid PID: a client with process id PID is connected to our
# PipeWire.
pw_client_pid() {
	timeout 10 pw-cli info all 2>/dev/null |
		grep -q "pipewire.sec.pid = \"$1\""
}

# pw_stop: SIGTERM to pipewire, SIGKILL 5 s later; nothing when none runs.
pw_stop() {
	[ -n "${pw_pid:-}" ] || return 0
	stop "$pw_pid" TERM 50 || stop "$pw_pid" KILL 20
	wait "$pw_pid" 2>/dev/null
	pw_pid=
}

# pw_set KEY VALUE: a graph setting (clock.force-quantum, clock.force-rate)
# through the settings metadata; 0 lets the graph choose again.
pw_set() {
	timeout 10 pw-metadata -n settings 0 "$1" "$2" >/dev/null 2>&1
}

# pw_test_begin: a pw-jack test's start, once it has defined finish (run
# at exit) and $tmp: the traps, no JACK server started or chosen by name,
# the private environment, and a private PipeWire (pw_start); skips the
# test with one line when either cannot be had.
pw_test_begin() {
	trap finish EXIT
	trap 'exit 1' INT TERM HUP
	unset JACK_DEFAULT_SERVER
	JACK_NO_START_SERVER=1
	export JACK_NO_START_SERVER
	pw_env "$tmp" || skip "no private runtime directory"
	if ! pw_start "$tmp/pipewire.log"; then
		pw_stop
		skip "PipeWire does not start here ($(tail -n 1 "$tmp/pipewire.log"))"
	fi
}
