#!/bin/sh
# SPDX-License-Identifier: ISC
# fxd's command line, config files and error paths, with no JACK server
# (TAP). Every error is one line on stderr and a documented exit status.
set -u
# fxd's failed connects open JACK's per-user metadata store too.
. "${srcdir:-.}/tests/integration/jack_lib.sh"
jack_serialise
fxd=${FXD:-daemon/fxd}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fxd-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
# No server can be found, and none is started.
JACK_NO_START_SERVER=1
JACK_DEFAULT_SERVER=fxd-cli-none-$$
export JACK_NO_START_SERVER JACK_DEFAULT_SERVER

n=0
bad=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
	n=$((n + 1)); echo "not ok $n - $1"; bad=1
	echo "# exit status $rc"
	sed 's/^/# stdout: /' "$tmp/out"
	sed 's/^/# stderr: /' "$tmp/err"
}

# Runs a command; its stderr without journal "<N>" prefixes is in $tmp/msg.
run() {
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	sed 's/^<[0-7]>//' "$tmp/err" >"$tmp/msg"
}

# expect DESCRIPTION STATUS LINE COMMAND...: the command exits with
# STATUS and prints exactly LINE on stderr.
expect() {
	desc=$1 status=$2 line=$3
	shift 3
	run "$@"
	if [ "$rc" -eq "$status" ] && [ "$(cat "$tmp/msg")" = "$line" ]; then
		pass "$desc"
	else
		echo "# expected status $status and: $line"
		fail "$desc"
	fi
}

echo "1..56"

run "$fxd" --help
if [ $rc -eq 0 ] && [ "$(head -n 1 "$tmp/out")" = "Usage: fxd [OPTIONS] [CHAIN]" ] &&
	grep -q -- '--connect-in PATTERN' "$tmp/out" &&
	grep -q 'a mono input feeds every channel' "$tmp/out" && [ ! -s "$tmp/err" ]; then
	pass "--help prints usage, the routing rule, exits 0"
else
	fail "--help prints usage, the routing rule, exits 0"
fi

run "$fxd" --version
if [ $rc -eq 0 ] && grep -q '^fxd [0-9][0-9.]*$' "$tmp/out" && [ ! -s "$tmp/err" ]; then
	pass "--version"
else
	fail "--version"
fi

run "$fxd" --list-effects
if [ $rc -eq 0 ] && grep -q '^lowpass: ' "$tmp/out" &&
	grep -q '^  cutoff ' "$tmp/out" && [ ! -s "$tmp/err" ]; then
	pass "--list-effects lists effects and parameters"
else
	fail "--list-effects lists effects and parameters"
fi

run "$fxd" -h --config /nonexistent/fxd.conf
if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ]; then
	pass "-h does not read the config file"
else
	fail "-h does not read the config file"
fi

# ---- command line ----------------------------------------------------------
expect "unknown option" 2 "fxd: unknown option '--bogus' (fxd --help lists them)" \
	"$fxd" --bogus
expect "unknown option with a suggestion" 2 \
	"fxd: unknown option '--chanels' (did you mean '--channels'?)" \
	"$fxd" --chanels 3
expect "unknown short option" 2 "fxd: unknown option '-x' (fxd --help lists them)" \
	"$fxd" -x
expect "missing value" 2 "fxd: option '--name' needs a value" "$fxd" --name
expect "flag given a value" 2 "fxd: option '--reconnect' takes no value" \
	"$fxd" --reconnect=yes
expect "channels out of range" 2 "fxd: --channels: 65 is out of range 1..64" \
	"$fxd" -c 65
expect "channels not a number" 2 "fxd: --channels: '2x' is not a whole number" \
	"$fxd" --channels=2x
expect "seconds not a number" 2 "fxd: --wait-for-jack: 'soon' is not a number" \
	"$fxd" --wait-for-jack soon
expect "name with a colon" 2 "fxd: --name: 'a:b' must not contain ':'" \
	"$fxd" -n a:b
run "$fxd" --connect-in '(system'
if [ $rc -eq 2 ] && grep -q "^fxd: --connect-in: '(system' is not a valid regular expression" "$tmp/msg" &&
	[ "$(wc -l <"$tmp/msg")" -eq 1 ]; then
	pass "bad --connect-in pattern"
else
	fail "bad --connect-in pattern"
fi
expect "bad chain names its position" 2 \
	"fxd: chain:1:13: lowpass: unknown parameter 'cutof' (did you mean 'cutoff'?)" \
	"$fxd" 'lpf:lowpass cutof=100'
expect "chain given twice" 2 "fxd: the chain is given twice (--chain and an argument)" \
	"$fxd" --chain 'vol:gain' 'vol:gain'

# ---- config files ------------------------------------------------------------
cfg=$tmp/fxd.conf
expect "missing config file" 2 \
	"fxd: cannot read config file '$tmp/none.conf': No such file or directory" \
	"$fxd" -f "$tmp/none.conf"

printf '# fxd\nname = fx1\nchanels = 3\n' >"$cfg"
expect "unknown key with a suggestion" 2 \
	"fxd: $cfg:3: unknown key 'chanels' (did you mean 'channels'?)" "$fxd" -f "$cfg"

printf '[fxd]\nchannels = 0   ; none\n' >"$cfg"
expect "config value out of range" 2 "fxd: $cfg:2: channels: 0 is out of range 1..64" \
	"$fxd" --config "$cfg"

printf 'name = fx1\nstereo\n' >"$cfg"
expect "line without '='" 2 "fxd: $cfg:2: expected 'key = value', found 'stereo'" \
	"$fxd" -f "$cfg"

printf '[chan]\n' >"$cfg"
expect "unknown section" 2 "fxd: $cfg:1: unknown section '[chan]' (did you mean '[chain]'?)" \
	"$fxd" -f "$cfg"

printf 'config = other.conf\n' >"$cfg"
expect "command-line-only key" 2 "fxd: $cfg:1: 'config' cannot be set in a config file" \
	"$fxd" -f "$cfg"

printf 'reconnect = maybe\n' >"$cfg"
expect "flag value" 2 "fxd: $cfg:1: reconnect: 'maybe' is not yes or no" "$fxd" -f "$cfg"

printf 'name = fx1\n\n[chain]\n# comment\nlpf:lowpass cutoff=5000\n| vol:gain dbb=-3\n' >"$cfg"
expect "[chain] error at the file's line and column" 2 \
	"fxd: $cfg:6:12: gain: unknown parameter 'dbb' (did you mean 'db'?)" "$fxd" -f "$cfg"

printf 'name = fx1\n  chain =  vol:gain db=99\n' >"$cfg"
expect "chain key error at the file's line and column" 2 \
	"fxd: $cfg:2:21: gain: db=99 is out of range -96..24 dB" "$fxd" -f "$cfg"

printf 'chain = vol:gain\n[chain]\nvol:gain\n' >"$cfg"
expect "chain given twice in a file" 2 "fxd: $cfg:2: the chain is given twice (see line 1)" \
	"$fxd" -f "$cfg"

# ---- files that are not what they should be ------------------------------------
# A FIFO nobody writes to blocked the old reader for good: bounded here.
mkfifo "$tmp/fifo.conf"
expect "a FIFO as config file is refused at once" 2 \
	"fxd: config file '$tmp/fifo.conf' is a FIFO, not a regular file" \
	timeout -k 2 10 "$fxd" -f "$tmp/fifo.conf"

# Text after a NUL byte, a bad section here, was silently ignored.
printf 'name = fx1\nchannels = 2\000\n[bogus]\n' >"$cfg"
expect "a NUL byte in a config file, at its line and column" 2 \
	"fxd: $cfg:2:13: a NUL byte; a config file must be text" "$fxd" -f "$cfg"

: >"$cfg"
expect "an empty config file is an error, not the default chain" 2 \
	"fxd: config file '$cfg' is empty" "$fxd" -f "$cfg"
printf '\n  \n\t\n' >"$cfg"
expect "a config file of blanks is empty too" 2 \
	"fxd: config file '$cfg' is empty" "$fxd" -f "$cfg"

# The state file is replaced whole: a device, a FIFO or a directory never
# can be (as root, /dev/full was replaced by a regular file).
expect "--state-file /dev/full is refused" 2 \
	"fxd: --state-file: '/dev/full' is a character device, not a regular file" \
	"$fxd" --state-file /dev/full
expect "--state-file on a FIFO is refused" 2 \
	"fxd: --state-file: '$tmp/fifo.conf' is a FIFO, not a regular file" \
	"$fxd" --state-file "$tmp/fifo.conf"
expect "--state-file on a directory is refused" 2 \
	"fxd: --state-file: '$tmp' is a directory, not a regular file" \
	"$fxd" --state-file "$tmp"
printf 'state-file = /dev/full\n' >"$cfg"
expect "state-file in a config file, checked at its line" 2 \
	"fxd: $cfg:1: state-file: '/dev/full' is a character device, not a regular file" \
	"$fxd" -f "$cfg"

# ---- [midi] lines: the same FILE:LINE:COL as everywhere ----------------------------
printf '[chain]\nvol:gain | lpf:lowpass\n[midi]\ncc 1 7 = /fx/vol/db -60 0\ncc  17 7 = /fx/vol/db\n' >"$cfg"
expect "[midi]: a channel out of range, at its column" 2 \
	"fxd: $cfg:5:5: the channel must be 1 to 16, or *" "$fxd" -f "$cfg"
printf '[midi]\nnote 1 36 =   /fx/vol/bypass sideways\n[chain]\nvol:gain\n' >"$cfg"
expect "[midi]: a bad word after the target, at its column" 2 \
	"fxd: $cfg:2:30: expected MIN MAX, 'invert', 'toggle' or 'momentary'" \
	"$fxd" -f "$cfg"
printf '[midi]\ncc 1 7 = /fx/vol/db\ncc 1 8 =  /fx/lpf/cutof\n[chain]\nvol:gain | lpf:lowpass\n' >"$cfg"
expect "[midi]: a target the chain lacks (the chain comes later), with a suggestion" 2 \
	"fxd: $cfg:3:11: '/fx/lpf/cutof': no parameter 'cutof' in slot 1 (lowpass); did you mean 'cutoff'?" \
	"$fxd" -f "$cfg"
printf '[chain]\nvol:gain\n[midi]\ncc 1 7 = /fx/vol/db -200 0\n' >"$cfg"
expect "[midi]: MIN and MAX outside the parameter's range" 2 \
	"fxd: $cfg:4:10: '/fx/vol/db': MIN and MAX must lie in -96..24" "$fxd" -f "$cfg"
printf '[chain]\nvol:gain\n[midi]\ncc 1 7 = /fx/vol/db -60 0\ncc14 * 1 = /fx/vol/db invert\nnote 10 36 = /fx/vol/bypass toggle\nprogram 1 3 = preset verse\nbend 1 = /fxd/morph\ncc 1 64 = /fxd/tap\n' >"$cfg"
expect "[midi]: every kind of line is read" 3 \
	"fxd: cannot connect to the JACK server '$JACK_DEFAULT_SERVER' (is jackd running, or PipeWire? Under PipeWire run fxd through pw-jack; --wait-for-jack SECONDS waits for it)" \
	"$fxd" --no-mlock -f "$cfg"
expect "--no-midi is an option" 3 \
	"fxd: cannot connect to the JACK server '$JACK_DEFAULT_SERVER' (is jackd running, or PipeWire? Under PipeWire run fxd through pw-jack; --wait-for-jack SECONDS waits for it)" \
	"$fxd" --no-mlock --no-midi vol:gain

# ---- no JACK server ---------------------------------------------------------------
nojack="fxd: cannot connect to the JACK server '$JACK_DEFAULT_SERVER' (is jackd running, or PipeWire? Under PipeWire run fxd through pw-jack; --wait-for-jack SECONDS waits for it)"
expect "no JACK server: exit 3, one clear line" 3 "$nojack" "$fxd" --no-mlock

# The command line wins over the file: its good chain replaces the bad one.
printf 'channels = 1\n[chain]\nvol:gain db=99\n' >"$cfg"
expect "command line overrides the file" 3 "$nojack" \
	"$fxd" --no-mlock -f "$cfg" --chain 'vol:gain db=-3'

start=$(date +%s)
run "$fxd" --no-mlock --wait-for-jack 1
end=$(date +%s)
if [ $rc -eq 3 ] && [ $((end - start)) -ge 1 ] &&
	[ "$(tail -n 1 "$tmp/msg")" = "fxd: cannot connect to the JACK server '$JACK_DEFAULT_SERVER' (gave up waiting)" ]; then
	pass "--wait-for-jack retries, then exit 3"
else
	fail "--wait-for-jack retries, then exit 3"
fi

# OSC options are checked before anything starts.
expect "--osc-bind needs a numeric address" 2 \
	"fxd: --osc-bind: 'localhost' is not a numeric IPv4 address" \
	"$fxd" --osc-bind localhost
expect "--osc-allow needs networks" 2 \
	"fxd: --osc-allow: '10.0.0.0/33' is not a list of IPv4 networks like 192.168.1.0/24,10.0.0.5 (at most 16)" \
	"$fxd" --osc-allow 10.0.0.0/33
expect "--osc-target needs a numeric host" 2 \
	"fxd: --osc-target: 'tablet:9000' is not HOST:PORT with a numeric IPv4 host (no DNS names)" \
	"$fxd" --osc-target tablet:9000
expect "--osc-port range" 2 "fxd: --osc-port: 70000 is out of range 0..65535" \
	"$fxd" --osc-port 70000
expect "--alias needs two addresses" 2 \
	"fxd: --alias: '/1/fader1' is not FROM=TO with two OSC addresses" \
	"$fxd" --alias /1/fader1
printf 'alias /1/fader1 = fx/vol/db\n' >"$cfg"
expect "alias in a file, checked at its line" 2 \
	"fxd: $cfg:1: alias: '/1/fader1=fx/vol/db' is not FROM=TO with two OSC addresses" \
	"$fxd" -f "$cfg"
printf 'alias /1/fader1 = /fx/vol/db/norm\nosc-port = 9100\n' >"$cfg"
expect "a good alias and port in a file: on to JACK" 3 "$nojack" \
	"$fxd" -f "$cfg" --no-mlock

# ---- what a newcomer sees -----------------------------------------------------
# On a terminal a line carries its level in a word; in the journal, <N>.
if command -v script >/dev/null 2>&1; then
	script -qec "$fxd --bogus" /dev/null </dev/null >"$tmp/tty" 2>&1
	rc=$?
	tr -d '\r' <"$tmp/tty" >"$tmp/err"
	: >"$tmp/out"
	if [ $rc -eq 2 ] && [ "$(cat "$tmp/err")" = "fxd: error: unknown option '--bogus' (fxd --help lists them)" ]; then
		pass "on a terminal: 'fxd: error: ...'"
	else
		fail "on a terminal: 'fxd: error: ...'"
	fi
else
	n=$((n + 1)); echo "ok $n # SKIP script(1) not found"
fi
run "$fxd" --bogus
if [ $rc -eq 2 ] && [ "$(cat "$tmp/err")" = "<3>fxd: unknown option '--bogus' (fxd --help lists them)" ]; then
	pass "not a terminal: '<3>fxd: ...', no level word"
else
	fail "not a terminal: '<3>fxd: ...', no level word"
fi

run "$fxd" --list-effects
if [ $rc -eq 0 ] && grep -qx '  division   off, 1/1, 1/2, 1/2d, 1/2t, 1/4, 1/4d, 1/4t, 1/8, 1/8d, 1/8t, 1/16, 1/16d, 1/16t, 1/32 (default off, enum)' "$tmp/out" &&
	grep -qx '  detect     peak, rms (default peak, enum)' "$tmp/out"; then
	pass "--list-effects names an enum's values and default by label"
else
	fail "--list-effects names an enum's values and default by label"
fi

run "$fxd" --help
if [ $rc -eq 0 ] && grep -q '6 OSC port in use' "$tmp/out" &&
	grep -q -- '--osc-port-by-name' "$tmp/out"; then
	pass "--help: --osc-port-by-name, exit status 6"
else
	fail "--help: --osc-port-by-name, exit status 6"
fi

# The shipped example config, as it is and with every key uncommented.
example=${srcdir:-.}/doc/fxd.conf.example
expect "doc/fxd.conf.example is a valid config" 3 "$nojack" \
	"$fxd" -f "$example" --no-mlock
sed -E 's/^# ((alias [^=]*|[a-z-]+) = )/\1/' "$example" >"$cfg"
run "$fxd" -f "$cfg" --no-mlock --wait-for-jack 0.1
if [ "$(grep -Ec '^[a-z][a-z /0-9-]* = ' "$cfg")" -ge 20 ] && [ $rc -eq 3 ] &&
	[ "$(tail -n 1 "$tmp/msg")" = "fxd: cannot connect to the JACK server '$JACK_DEFAULT_SERVER' (gave up waiting)" ]; then
	pass "doc/fxd.conf.example with every key uncommented is valid"
else
	fail "doc/fxd.conf.example with every key uncommented is valid"
fi

exit $bad
