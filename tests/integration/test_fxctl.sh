#!/bin/sh
# SPDX-License-Identifier: ISC
# fxctl, the command-line OSC client (clients/fxctl.c, doc/fxctl.1), against
# the real fxd on a private dummy JACK server (TAP): every command, its
# output where it is deterministic (compared exactly), --json parsed by
# python3, stats --watch on a pipe stopped by SIGINT (and fxd's subscriber
# count after it) and on a pty of a given size, enum parameters by label,
# and the error paths with their exit statuses and one-line messages.
# Skips when jackd or python3 is missing.
# shellcheck disable=SC2317 # functions run from trap and poll
set -u
. "${srcdir:-.}/tests/integration/jack_lib.sh"

require_tools jackd jack_lsp python3 timeout
jack_test_begin ctl
# JACK names a client's socket after the client and not the server
# (/dev/shm/jack_<client>_<uid>_0, as the server's own is named after the
# server): two copies of this test, each on its own server, must not both
# call fxd the same, and no client may take a server's name.
client=fxc-$$-$(rand)
fxd2_pid=
watch_pid=
stop_helpers() {
	stop_or_kill "$watch_pid"
	stop_or_kill "$fxd2_pid"
}
log_names="jackd fxd watch watch.err watch2 watch2.err fxd2 watch3 watch3.err"

# show: the last command, its status and output, and what python3 said.
show() {
	show_command
	[ -s "$tmp/py.err" ] && sed 's/^/# python3: /' "$tmp/py.err"
	: >"$tmp/py.err"
}

# expect DESC STATUS STDOUT STDERR ARGS...: fxctl ARGS exits STATUS and
# prints exactly STDOUT and STDERR.
expect() {
	desc=$1 status=$2 want_out=$3 want_err=$4
	shift 4
	fx "$@"
	[ "$rc" -eq "$status" ] && [ "$(cat "$tmp/out")" = "$want_out" ] &&
		[ "$(cat "$tmp/err")" = "$want_err" ]
	r=$?
	verdict "$desc" $r
	if [ $r -ne 0 ]; then
		echo "# expected status $status"
		printf '%s\n' "$want_out" | sed 's/^/# expected stdout: /'
		printf '%s\n' "$want_err" | sed 's/^/# expected stderr: /'
	fi
	return 0
}

# json EXPR: the last command exited 0, printed nothing on stderr, and its
# stdout is one JSON value d for which the Python expression EXPR holds.
json() {
	[ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ] &&
		python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$tmp/out" "$1" 2>>"$tmp/py.err"
}

# A UDP port nothing is bound to: the kernel picks it, we let it go.
closed_udp_port() {
	python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# osc.py: OSC messages in and out for the python3 snippets below, on
# bench_daemon's reader (s, f, d, i, h arguments: enough for fxd).
bench=$(cd "${srcdir:-.}/bench" && pwd)
cat >"$tmp/osc.py" <<PY
import socket, struct, sys, time
sys.path.insert(0, "$bench")
from bench_daemon import osc_parse, osc_string

def message(address, *args):
    tags, data = ",", b""
    for a in args:
        if isinstance(a, str):
            tags, data = tags + "s", data + osc_string(a)
        else:
            tags, data = tags + "i", data + struct.pack(">i", a)
    return osc_string(address) + osc_string(tags) + data

def client(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.connect(("127.0.0.1", port))
    return s

def until(sock, address, seconds):
    """The (address, args) received until one on address (inclusive);
    None when the deadline passes first."""
    got, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            m = osc_parse(sock.recv(65536))
        except socket.timeout:
            break
        got.append(m)
        if m[0] == address:
            return got
    return None
PY

echo "1..66"
[ -x "$fxd" ] || bail "$fxd not found (set FXD_BIN)"
[ -x "$fxctl" ] || bail "$fxctl not found (set FXCTL_BIN)"
: >"$tmp/py.err"

# ---- a private JACK server and fxd on it -----------------------------------
# Every log a background job writes exists before the job starts: a poll
# that reads it must not race the job's redirections (grep's status 2 for
# a missing file would end the poll).
: >"$tmp/watch.log"
: >"$tmp/watch.err.log"
start_jackd "$server" 256 "$tmp/jackd.log"
pass_or_bail "jackd -d dummy runs as $server" $? "no JACK server"

# A chain of its own (the default chain may grow): hpf | eq | lpf | vol.
# Presets go to $tmp/presets.
chain='hpf:highpass cutoff=80 order=2 | eq:peaking cutoff=1000 q=0.7 gain=0 | lpf:lowpass cutoff=12000 order=2 | vol:gain db=0'
XDG_DATA_HOME=$tmp
export XDG_DATA_HOME
start_fxd "$tmp/fxd.log" 100 -n "$client" --osc-port 0 --no-mlock \
	--preset-dir "$tmp/presets" "$chain"
pass_or_bail "fxd is ready, OSC on UDP port $port" $? \
	"fxd did not print its ready line with an OSC port"

fx ping
[ $rc -eq 0 ] && [ ! -s "$tmp/err" ] &&
	grep -Eq "^pong from fxd at 127\.0\.0\.1:$port in [0-9]+\.[0-9]{3} ms\$" \
		"$tmp/out" && [ "$(wc -l <"$tmp/out")" -eq 1 ]
verdict "ping exits 0 and prints the round trip" $?

# ---- the parameters of the default chain, before anything changed ---------
expect "list: every parameter of the default chain" 0 \
"path            effect     value  min    max  default  unit  scale
/fx/hpf/cutoff  highpass      80   20  20000       80  Hz    log
/fx/hpf/q       highpass  0.7071  0.1     20   0.7071        log
/fx/hpf/order   highpass       2    1     16        2        lin
/fx/eq/cutoff   peaking     1000   20  20000     1000  Hz    log
/fx/eq/q        peaking      0.7  0.1     20   0.7071        log
/fx/eq/gain     peaking        0  -24     24        0  dB    dB
/fx/lpf/cutoff  lowpass    12000   20  20000    12000  Hz    log
/fx/lpf/q       lowpass   0.7071  0.1     20   0.7071        log
/fx/lpf/order   lowpass        2    1     16        2        lin
/fx/vol/db      gain           0  -96     24        0  dB    dB" "" list

fx --json list
json 'len(d) == 10 and [p["path"] for p in d] == ["/fx/hpf/cutoff",
 "/fx/hpf/q", "/fx/hpf/order", "/fx/eq/cutoff", "/fx/eq/q", "/fx/eq/gain",
 "/fx/lpf/cutoff", "/fx/lpf/q", "/fx/lpf/order", "/fx/vol/db"] and
 d[6] == {"path": "/fx/lpf/cutoff", "effect": "lowpass", "value": 12000,
 "min": 20, "max": 20000, "default": 12000, "unit": "Hz", "scale": "log"}'
verdict "--json list parses: 10 parameters" $?

expect "info /fx/lpf/cutoff: min 20, max 20000, Hz, log" 0 \
"path     /fx/lpf/cutoff
effect   lowpass
value    12000 Hz
min      20 Hz
max      20000 Hz
default  12000 Hz
scale    log" "" info /fx/lpf/cutoff

# ---- set and get ------------------------------------------------------------
expect "set /fx/lpf/cutoff 2000 prints the value applied" 0 \
	"/fx/lpf/cutoff 2000" "" set /fx/lpf/cutoff 2000
expect "get /fx/lpf/cutoff" 0 "/fx/lpf/cutoff 2000" "" get /fx/lpf/cutoff
fx --json get /fx/lpf/cutoff
json 'd == {"path": "/fx/lpf/cutoff", "value": 2000}'
verdict "--json get /fx/lpf/cutoff parses" $?
expect "set lpf/cutoff 1e9 prints the clamped maximum" 0 \
	"/fx/lpf/cutoff 20000" "" set lpf/cutoff 1e9
# Slots count from 0: /fx/1 is eq, and replies name it by its label.
expect "set /fx/1/cutoff 3000 (an index) prints the label's path" 0 \
	"/fx/eq/cutoff 3000" "" set /fx/1/cutoff 3000
expect "get /fx/eq/cutoff after setting it by index" 0 \
	"/fx/eq/cutoff 3000" "" get /fx/eq/cutoff
expect "set /fx/vol/db/norm 0.5" 0 "/fx/vol/db/norm 0.5" "" \
	set /fx/vol/db/norm 0.5
expect "get /fx/vol/db after norm 0.5: -36" 0 "/fx/vol/db -36" "" \
	get /fx/vol/db
expect "set /fx/vol/bypass on" 0 "/fx/vol/bypass 1" "" set /fx/vol/bypass on
expect "get /fx/vol/bypass" 0 "/fx/vol/bypass 1" "" get /fx/vol/bypass

# ---- chains -------------------------------------------------------------------
expect "load 'vol:gain db=-6' prints the chain now running" 0 \
	"vol:gain db=-6" "" load 'vol:gain db=-6'
expect "chain prints the loaded chain" 0 "vol:gain db=-6" "" chain
fx load 'vol:gainn'
[ $rc -eq 1 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	grep -q '^fxctl: /fxd/chain/load: chain:1:' "$tmp/err"
verdict "load 'vol:gainn' exits 1 with fxd's chain:1: reason" $?
expect "a refused load leaves the chain alone" 0 "vol:gain db=-6" "" chain

# ---- presets ------------------------------------------------------------------
fx preset save gig
[ $rc -eq 0 ] && [ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ] &&
	[ -f "$tmp/presets/gig.fxchain" ]
verdict "preset save gig writes --preset-dir/gig.fxchain" $?
expect "set vol/db -20 after saving" 0 "/fx/vol/db -20" "" set vol/db -20
fx preset load gig
if [ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = "vol:gain db=-6" ] &&
	[ ! -s "$tmp/err" ]; then
	expect "preset load gig restores vol/db -6" 0 "/fx/vol/db -6" "" \
		get vol/db
else
	fail "preset load gig restores vol/db -6"
	show
fi
expect "preset list" 0 "gig" "" preset list
expect "--json preset list" 0 '{"presets":["gig"]}' "" --json preset list
fx preset save ../evil
[ $rc -eq 1 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	grep -q "^fxctl: /fxd/preset/save: .*'\.\./evil'" "$tmp/err" &&
	[ -z "$(find "$tmp" -name '*evil*')" ]
verdict "preset save ../evil exits 1 (fxd refuses), writes no file" $?

# ---- a preset list longer than a UDP packet ----------------------------------
# 1,200 presets of 60-character names (each a copy of gig's file, as
# preset save writes it): fxd answers /fxd/preset/list in ,ii s... parts,
# which fxctl joins in part order.
python3 - "$tmp/presets" >"$tmp/names" 2>"$tmp/py.err" <<'PY'
import os, sys
d = sys.argv[1]
text = open(os.path.join(d, "gig.fxchain")).read()
names = ["gig"]
for i in range(1200):
    # Upper case, digits, '-', '_' and '.': sorted as bytes (strcmp).
    head = ("Z", "a", "M_", "b.", "0-")[i % 5] + "%04d-" % ((i * 7919) % 1200)
    name = head + "x" * (60 - len(head))
    names.append(name)
    with open(os.path.join(d, name + ".fxchain"), "w") as f:
        f.write(text)
print("\n".join(sorted(names)))
PY
PYTHONPATH=$tmp python3 - "$port" >"$tmp/out" 2>>"$tmp/py.err" <<'PY'
import sys, osc
s = osc.client(int(sys.argv[1]))
s.send(osc.message("/fxd/preset/list"))
s.send(osc.message("/fxd/ping"))
got = osc.until(s, "/fxd/pong", 5) or []
parts = [m[1] for m in got if m[0] == "/fxd/preset/list"]
print(len(parts), all(type(a[0]) is int and type(a[1]) is int
                      for a in parts))
PY
cmd="/fxd/preset/list over UDP, from python3: parts, all ,ii s..."
rc=0
grep -Eq '^([2-9]|[1-9][0-9]+) True$' "$tmp/out"
verdict "fxd answers 1,201 presets in ,ii s... parts" $?
fx preset list
[ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && cmp -s "$tmp/out" "$tmp/names"
verdict "preset list: 1,201 names, each once, sorted, joined from the parts" $?
fx --json preset list
json "d == {'presets': open('$tmp/names').read().split()}"
verdict "--json preset list: the same 1,201 names" $?

# ---- the daemon -----------------------------------------------------------------
fx mute
if [ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = "/fxd/mute 1" ] &&
	[ ! -s "$tmp/err" ]; then
	expect "mute, then get /fxd/mute: 1" 0 "/fxd/mute 1" "" get /fxd/mute
else
	fail "mute, then get /fxd/mute: 1"
	show
fi
fx unmute
if [ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = "/fxd/mute 0" ] &&
	[ ! -s "$tmp/err" ]; then
	expect "unmute, then get /fxd/mute: 0" 0 "/fxd/mute 0" "" get /fxd/mute
else
	fail "unmute, then get /fxd/mute: 0"
	show
fi
expect "panic" 0 "" "" panic
expect "bpm 140 prints the tempo taken" 0 "140" "" bpm 140
expect "bpm prints 140" 0 "140" "" bpm
expect "reset-metrics" 0 "" "" reset-metrics
expect "sync" 0 "" "" sync

# ---- statistics -------------------------------------------------------------------
# rows NAME...: the latency table has a row for each NAME: a count, then
# six numbers in ms (or - when the count is 0).
rows() {
	for row in "$@"; do
		grep -Eq "^$row +[0-9]+( +([0-9]+\.[0-9]{4}|-)){6}\$" "$tmp/out" ||
			return 1
	done
}
fx stats
[ $rc -eq 0 ] && [ ! -s "$tmp/err" ] &&
	grep -Eq '^latency ms +count +min +median +mean +p95 +p99 +max$' \
		"$tmp/out" && rows callback worker knob
verdict "stats prints the latency table: callback, worker, knob" $?
fx --json stats
json 'all(k in d for k in ("callback.p99", "knob.count", "osc.received",
 "underflows")) and all(v is None or isinstance(v, (int, float))
 for v in d.values())'
verdict "--json stats parses, has callback.p99 knob.count osc.received underflows" $?

# ---- stats --watch on a pipe, stopped by SIGINT -----------------------------
# fxctl sets its own SIGINT handler, so the shell's ignoring SIGINT in
# background jobs does not matter.
"$fxctl" --port "$port" stats --watch --interval 100 \
	>>"$tmp/watch.log" 2>>"$tmp/watch.err.log" </dev/null &
watch_pid=$!
two_lines() {
	[ "$(wc -l <"$tmp/watch.log")" -ge 2 ] && return 0
	kill -0 "$watch_pid" 2>/dev/null || return 2
	return 1
}
subscribers() { fx --json stats && json "d['subscribers'] == $1"; }
# /fxd/stats comes once a second at most: 2 lines take 1 to 2 s. The
# whole output so far: plain lines of the documented form, no escapes.
line='[0-9]{2}:[0-9]{2}:[0-9]{2} load=[^ ]+ callback\.p99=[^ ]+'
line="$line worker\\.p99=[^ ]+ knob\\.p99=[^ ]+ underflows=[0-9]+ late=[0-9]+"
line="$line xruns=[0-9]+ nonfinite=[0-9]+ overflows=[0-9]+"
line="$line( peak_dbfs=(-?[0-9]+\\.[0-9]|-inf)(,(-?[0-9]+\\.[0-9]|-inf))*)?"
if poll 60 two_lines && ! grep -q "$(printf '\033')" "$tmp/watch.log" &&
	! grep -Evq "^$line\$" "$tmp/watch.log"; then
	pass "stats --watch, not a TTY: one plain line per /fxd/stats"
else
	fail "stats --watch, not a TTY: one plain line per /fxd/stats"
	echo "# (output in the watch log below)"
fi
subscribers 1
verdict "fxd counts the watch as a subscriber" $?
kill -INT "$watch_pid" 2>/dev/null
watch_gone() { ! kill -0 "$watch_pid" 2>/dev/null; }
poll 30 watch_gone
if kill -0 "$watch_pid" 2>/dev/null; then
	stop "$watch_pid" KILL 20
	wait "$watch_pid"
	watch_pid=
	fail "stats --watch exits on SIGINT, status 0"
	echo "# still running 3 s after SIGINT"
else
	wait "$watch_pid"
	rc=$?
	watch_pid=
	cmd="stats --watch, SIGINT"
	: >"$tmp/out"
	cp "$tmp/watch.err.log" "$tmp/err"
	[ $rc -eq 0 ] && [ ! -s "$tmp/err" ]
	verdict "stats --watch exits on SIGINT, status 0" $?
fi
poll 30 subscribers 0
verdict "fxd's subscribers back to 0 after the watch" $?

# ---- stats --watch on a terminal: the view fits it, and follows a resize ----
# A pty of 50 x 12, then 36 x 8 (SIGWINCH): every frame drawn after the
# change of size fits it, no line wrapped, no row scrolled away.
python3 - "$fxctl" "$port" >"$tmp/out" 2>"$tmp/err" <<'PY'
import fcntl, os, pty, re, select, signal, struct, sys, termios, time

def size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

fxctl, port = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    size(0, 12, 50)
    os.execv(fxctl, [fxctl, "--port", port, "stats", "--watch",
                     "--interval", "100"])
out = b""
def read_until(pred, seconds):
    global out
    end = time.monotonic() + seconds
    while not pred() and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
def frames():
    return out.split(b"\x1b[H")
read_until(lambda: sum(b"latency ms" in f for f in frames()) >= 2, 20)
# Everything read so far was drawn before the resize: 50 x 12.
old = frames()[1:]
size(fd, 8, 36)
# Frames in flight at the resize may have either size: let them pass.
read_until(lambda: False, 1.0)
mark = len(frames())
read_until(lambda: sum(b"latency ms" in f for f in frames()[mark:]) >= 2, 20)
new = frames()[mark:]
os.kill(pid, signal.SIGINT)
read_until(lambda: False, 1)
_, status = os.waitpid(pid, 0)
bad = []
for rows, cols, group in ((12, 50, old), (8, 36, new)):
    for i, f in enumerate(group):
        text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", f).decode()
        lines = text.replace("\r", "").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) > rows - 1:
            bad.append("%dx%d frame %d: %d lines" % (cols, rows, i, len(lines)))
        for l in lines:
            if len(l) > cols - 1:
                bad.append("%dx%d frame %d: %d columns: %r"
                           % (cols, rows, i, len(l), l))
code = os.waitstatus_to_exitcode(status)
print("%d frames at 50 x 12, %d at 36 x 8; exit status %d"
      % (len(old), len(new), code))
for b in bad[:10]:
    print(b)
sys.exit(1 if bad or len(old) < 2 or len(new) < 2 or code != 0 else 0)
PY
rc=$?
cmd="stats --watch on a 50 x 12 pty, then 36 x 8"
verdict "stats --watch on a terminal fits its size, before and after a resize" $rc

# ---- stats --watch beside other clients: their failures, a full house -------
# A second watch, JSON lines on a pipe. Another client's bad message is
# forwarded to subscribers as /fxd/fail ,sssii: the watch shows it on
# stderr and keeps running (fxctl's own failures are ,ss). Then 16 more
# subscribers fill fxd's places: the watch, stalest, gives way and is told
# /fxd/unsubscribed; it subscribes again, and the stalest of the 16 gives
# way to it in turn (and only it: no loop of evictions).
: >"$tmp/watch2.log"
: >"$tmp/watch2.err.log"
"$fxctl" --port "$port" --json stats --watch --interval 100 \
	>>"$tmp/watch2.log" 2>>"$tmp/watch2.err.log" </dev/null &
watch_pid=$!
# interrupt_watch CMD: SIGINT to the watch (SIGKILL if it is still there 3 s
# later); $rc is its exit status, $cmd says what it was.
interrupt_watch() {
	kill -INT "$watch_pid" 2>/dev/null
	poll 30 watch_gone || stop "$watch_pid" KILL 20
	wait "$watch_pid"
	rc=$?
	watch_pid=
	cmd=$1
}
# lines_past N: the watch printed more than N lines to $watch_log, and runs.
watch_log=$tmp/watch2.log
lines_past() {
	kill -0 "$watch_pid" 2>/dev/null || return 2
	[ "$(wc -l <"$watch_log")" -gt "$1" ]
}
poll 60 lines_past 1
PYTHONPATH=$tmp timeout -k 2 20 python3 - "$port" >"$tmp/out" 2>"$tmp/py.err" <<'PY'
import sys, osc
s = osc.client(int(sys.argv[1]))
s.send(osc.message("/fx/nope/x", 1))
got = osc.until(s, "/fxd/fail", 5)
print("|".join(got[-1][1]) if got else "no /fxd/fail")
PY
# The sender's own answer is ,ss: the address and the reason.
sent=0
[ "$(cat "$tmp/out")" = "/fx/nope/x|no slot 'nope' in the chain" ] && sent=1
forwarded_line() {
	kill -0 "$watch_pid" 2>/dev/null || return 2
	grep -Eq "^fxctl: fxd refused udp 127\.0\.0\.1:[0-9]+: /fx/nope/x: no slot 'nope' in the chain\$" \
		"$tmp/watch2.err.log"
}
mark=0
if [ $sent -eq 1 ] && poll 100 forwarded_line; then
	mark=$(wc -l <"$watch_log")
	poll 60 lines_past $((mark + 2))
fi
r=$?
[ "$mark" -gt 0 ] && [ $r -eq 0 ] && [ "$(wc -l <"$tmp/watch2.err.log")" -eq 1 ]
r=$?
verdict "stats --watch shows another client's failure (on stderr) and keeps running" $r
[ $r -eq 0 ] || sed 's/^/# watch stderr: /' "$tmp/watch2.err.log"

PYTHONPATH=$tmp timeout -k 2 60 python3 - "$port" >"$tmp/out" 2>"$tmp/py.err" <<'PY'
import sys, time, osc
port = int(sys.argv[1])
subs = []
for i in range(16):
    s = osc.client(port)
    s.send(osc.message("/fxd/subscribe"))
    if osc.until(s, "/fxd/subscribed", 10) is None:
        sys.exit("subscriber %d: no /fxd/subscribed" % i)
    subs.append(s)
# The watch, told it gave way, takes the place of the first of these.
told = osc.until(subs[0], "/fxd/unsubscribed", 15)
print("first told:", told is not None and told[-1][1][1] == subs[0].getsockname()[1])
# None of the others gives way (a second loop would take them in turn).
others = 0
for s in subs[1:]:
    s.send(osc.message("/fxd/ping"))
    got = osc.until(s, "/fxd/pong", 5) or []
    others += any(m[0] == "/fxd/unsubscribed" for m in got)
    s.send(osc.message("/fxd/unsubscribe"))
    osc.until(s, "/fxd/unsubscribed", 5)
print("others told:", others)
PY
cmd="16 subscribers beside the watch"
rc=0
mark=$(wc -l <"$watch_log")
if [ "$(cat "$tmp/out")" = "first told: True
others told: 0" ] && poll 60 lines_past $((mark + 2)); then
	verdict "stats --watch, made to give way, subscribes again (the stalest other gives way once)" 0
else
	verdict "stats --watch, made to give way, subscribes again (the stalest other gives way once)" 1
fi
poll 30 subscribers 1
verdict "fxd's subscribers back to 1 (the watch) after the 16 left" $?
interrupt_watch "stats --watch (second), SIGINT"
[ $rc -eq 0 ]
verdict "the second watch exits 0 on SIGINT" $?

# ---- enum parameters, by label --------------------------------------------------
# fxctl sends a label as ,s and prints an enum's value as its label, which
# it learns from the labels /fxd/param lists after its 8 arguments (fxd's
# side of doc/osc.md's enum contract).
expect "load a delay with division=1/4: the chain, labels and all" 0 \
	"dly:delay time=250 division=1/4 bpm=0 feedback=0.4 mix=0 pingpong=0 max=2 | vol:gain db=-6" "" \
	load 'dly:delay division=1/4 mix=0 | vol:gain db=-6'
expect "set dly/division 1/8 (a label) prints the label applied" 0 \
	"/fx/dly/division 1/8" "" set dly/division 1/8
expect "get dly/division prints its label" 0 "/fx/dly/division 1/8" "" \
	get dly/division
expect "set dly/division 2 (an index) prints its label" 0 \
	"/fx/dly/division 1/2" "" set dly/division 2
fx --json get dly/division
json 'd == {"path": "/fx/dly/division", "value": 2, "label": "1/2"}'
verdict "--json get dly/division: the number and its label" $?
expect "info dly/division: labels for the value, range, default; all labels" 0 \
"path     /fx/dly/division
effect   delay
value    1/2
min      off
max      1/32
default  off
scale    enum
labels   off, 1/1, 1/2, 1/2d, 1/2t, 1/4, 1/4d, 1/4t, 1/8, 1/8d, 1/8t, 1/16, 1/16d, 1/16t, 1/32" "" \
	info dly/division
fx set dly/division 1/7
[ $rc -eq 1 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	grep -q '^fxctl: /fx/dly/division: ' "$tmp/err"
verdict "set dly/division 1/7 (no such label): status 1 with fxd's reason" $?
expect "set dly/time soon: status 2, a numeric parameter" 2 "" \
	"fxctl: set: 'soon' is not a number (nor on/off) (see fxctl --help)" \
	set dly/time soon

# ---- errors -------------------------------------------------------------------------
dead=$(closed_udp_port)
# The kernel's refusal comes at once: no waiting out a 60 s --timeout
# (killed after 10 s, it would exit 124).
capture timeout -k 1 10 "$fxctl" --port "$dead" --timeout 60 ping
[ $rc -eq 3 ] && [ ! -s "$tmp/out" ] &&
	[ "$(cat "$tmp/err")" = "fxctl: nothing listens on 127.0.0.1:$dead (is fxd running with OSC on that port?)" ]
verdict "a closed port: status 3 and the one-line message, without waiting for --timeout" $?
expect "a mistyped command: status 2 and a suggestion" 2 "" \
	"fxctl: unknown command 'sett' (did you mean 'set'?) (see fxctl --help)" sett
expect "a mistyped option: a suggestion" 2 "" \
	"fxctl: unknown option '--tiemout' (did you mean '--timeout'?) (see fxctl --help)" \
	--tiemout 1 ping
expect "--instance and --port together: status 2" 2 "" \
	"fxctl: --port and --instance both name a port; give one (see fxctl --help)" \
	--instance guitar ping
expect "an unknown command: status 2" 2 "" \
	"fxctl: unknown command 'bogus' (see fxctl --help)" bogus
expect "set /fx/nope/x 1: status 1 with fxd's reason" 1 "" \
	"fxctl: /fx/nope/x: no slot 'nope' in the chain" set /fx/nope/x 1
expect "--host localhost: status 2 (numeric addresses only)" 2 "" \
	"fxctl: --host: 'localhost' is not a numeric IPv4 address (fxctl looks up no names; try 127.0.0.1) (see fxctl --help)" \
	--host localhost ping

# ---- stats --watch renews its lease ---------------------------------------------
# A second fxd whose subscriptions last 1 s (--osc-lease takes 0..86400; 0
# is for ever). The watch reads osc.lease from the statistics and renews at
# a third of it: it goes on receiving for many leases, fxd counts one
# subscriber whenever asked, and none expired. (Judged by the time stamps
# of the frames the watch printed, and fxd's counters: nothing here
# depends on how fast the machine is.)
client2=fxc2-$$-$(rand)
: >"$tmp/fxd2.log"
"$fxd" -n "$client2" --osc-port 0 --osc-lease 1 --no-mlock \
	--preset-dir "$tmp/presets2" "$chain" >>"$tmp/fxd2.log" 2>&1 </dev/null &
fxd2_pid=$!
port2=$(await_fxd "$fxd2_pid" "$tmp/fxd2.log" 100)
verdict "a second fxd with --osc-lease 1 is ready" $?
: >"$tmp/watch3.log"
: >"$tmp/watch3.err.log"
"$fxctl" --port "$port2" --json stats --watch --interval 100 \
	>>"$tmp/watch3.log" 2>>"$tmp/watch3.err.log" </dev/null &
watch_pid=$!
watch_log=$tmp/watch3.log
# leases_seen N: the watch's frames span N seconds (N leases) and it runs;
# at every look from its first frame on, fxd says it has one subscriber
# (else status 2: give up).
one_subscriber=1
leases_seen() {
	kill -0 "$watch_pid" 2>/dev/null || return 2
	capture "$fxctl" --port "$port2" --json stats
	[ "$rc" -eq 0 ] || return 1
	json "d['subscribers'] == 1" || { one_subscriber=0; return 2; }
	python3 - "$tmp/watch3.log" "$1" <<'PY'
import json, sys
t = []
for line in open(sys.argv[1]):
    if line.endswith("\n"):
        h, m, s = map(int, json.loads(line)["time"].split(":"))
        t.append(h * 3600 + m * 60 + s)
sys.exit(0 if t and (t[-1] - t[0]) % 86400 >= int(sys.argv[2]) else 1)
PY
}
if [ -n "$port2" ] && poll 100 lines_past 0 && poll 600 leases_seen 8; then
	# Frames go on coming after those eight leases.
	poll 100 lines_past $(($(wc -l <"$watch_log") + 2))
	r=$?
else
	r=1
fi
verdict "stats --watch under a 1 s lease: frames for 8 leases and more" $r
[ $r -eq 0 ] || echo "# fxd said it had 1 subscriber at every look: $one_subscriber"
cmd="the watch's frames"
python3 - "$tmp/watch3.log" >"$tmp/out" 2>"$tmp/py.err" <<'PY'
import json, sys
frames = [json.loads(l)["stats"] for l in open(sys.argv[1]) if l.endswith("\n")]
last = frames[-1]
print(len(frames), set(f["subscribers"] for f in frames), last["osc.lease"],
      last["osc.subscribers_expired"], last["osc.subscribers_evicted"])
sys.exit(0 if frames and all(f["subscribers"] == 1 for f in frames)
         and last["osc.lease"] == 1 and last["osc.subscribers_expired"] == 0
         and last["osc.subscribers_evicted"] == 0 else 1)
PY
rc=$?
verdict "every frame counts 1 subscriber; osc.lease 1; none expired or evicted" $rc
interrupt_watch "stats --watch under a 1 s lease, SIGINT"
cp "$tmp/watch3.err.log" "$tmp/err"
[ $rc -eq 0 ] && [ ! -s "$tmp/err" ]
verdict "that watch exits 0 on SIGINT, nothing on stderr" $?
stop_or_kill "$fxd2_pid"
fxd2_pid=

[ $n -eq 66 ] || { echo "# ran $n tests, planned 66"; bad=1; }
[ $bad -eq 0 ] || logs
exit $bad
