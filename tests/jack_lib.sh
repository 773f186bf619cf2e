# fxd — shell helpers for the TAP tests that run the real fxd on a private
# `jackd -d dummy` (sourced by tests/test_pd.sh and tests/test_fxctl.sh).
# shellcheck shell=sh disable=SC2034 # n and bad are read by the test

# skip REASON: a TAP skip plan, and out.
skip() {
	echo "1..0 # SKIP $1"
	exit 0
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

# stop_jackd PID NAME: SIGTERM, then SIGKILL; what a killed server leaves
# in /dev/shm blocks its name, so it goes.
stop_jackd() {
	[ -n "$1" ] || return 0
	stop "$1" TERM 50 && return 0
	stop "$1" KILL 20
	rm -f "/dev/shm/jack_$2" "/dev/shm/jack_${2}_"* \
		"/dev/shm/jack_sem."*"_${2}_"*
}

# start_jackd NAME PERIOD LOG: a private `jackd -d dummy` at 48 kHz, its
# output appended to LOG; sets jack_pid and returns once the server answers
# (1 if it does not within 10 s).
start_jackd() {
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
