#!/bin/sh
# SPDX-License-Identifier: ISC
# LV2 plugins in the chain (dsp/lv2.h), with real plugins from Debian
# (swh-lv2, x42-plugins), as a black box (TAP):
# - fxfile with an LV2 slot against lilv's own lv2apply with the same
#   control values: the same samples, to the float, for SWH's amp, a SWH
#   Butterworth IIR, and the mono IIR run once per channel of a stereo file;
# - URIs with '#' unquoted, and '#' comments still ending a line;
# - a plugin with latency (x42 dpl): fxfile compensates what the chain
#   reports, so a pulse comes out where it went in, bypassed or not;
# - errors, one line each and exit 2: an unknown URI (with a suggestion),
#   a plugin requiring a feature fxd lacks, an unknown port symbol (with a
#   suggestion), a value out of range, audio ports that fit no channel
#   count; fxd --list-lv2 and --describe-lv2;
# - fxd on a private dummy JACK server: an LV2 slot's control over OSC,
#   per-slot time in /fxd/stats, a [midi] mapping, a preset and the state
#   file round trip,
#   a bad LV2 chain over OSC refused with the old chain kept, and SIGHUP
#   with a bad LV2 chain keeping the running one.
# Skips without lv2apply, sox or the plugins; the JACK part bails without
# jackd.
# shellcheck disable=SC2317 # functions run from trap
set -u
. "${srcdir:-.}/tests/integration/jack_lib.sh"

require_tools sox lv2apply lv2info timeout od awk curl
py=/usr/bin/python3
[ -x "$py" ] || py=python3
amp=http://plugin.org.uk/swh-plugins/amp
hpf=http://plugin.org.uk/swh-plugins/butthigh_iir
dpl='http://gareus.org/oss/lv2/dpl#mono'
balance=http://gareus.org/oss/lv2/balance
for uri in "$amp" "$hpf" "$dpl" "$balance"; do
	lv2info "$uri" >/dev/null 2>&1 || skip "LV2 plugin $uri not installed"
done
# A plugin that requires the worker extension (x42's convolver).
worker=http://gareus.org/oss/lv2/zeroconvolv#CfgMono
lv2info "$worker" >/dev/null 2>&1 || worker=

jack_test_begin lv2
fxfile=${FXFILE_BIN:-$builddir/clients/fxfile}
[ -x "$fxfile" ] || skip "$fxfile not built"
echo "1..30"

# f32 WAV RAW: the samples of WAV as raw 32-bit floats, interleaved.
f32() { sox "$1" -t f32 "$2" 2>/dev/null; }
# same A.wav B.wav: the two hold the same samples, bit for bit.
same() {
	f32 "$1" "$tmp/a.raw" && f32 "$2" "$tmp/b.raw" &&
		[ -s "$tmp/a.raw" ] && cmp -s "$tmp/a.raw" "$tmp/b.raw"
}
# ff ARGS...: fxfile ARGS, captured.
ff() { capture "$fxfile" --force "$@"; }
# one_line: the last command failed with exit 2 and one line on stderr
# that says $1.
one_line() {
	[ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
		grep -q -- "$1" "$tmp/err"
}

# Test signals: a chirp (every frequency the filters touch) with noise.
sox -n -r 48000 -c 1 -b 32 -e float "$tmp/mono.wav" \
	synth 1 sine 20-20000 synth 1 whitenoise mix vol 0.4 2>/dev/null
sox -n -r 48000 -c 2 -b 32 -e float "$tmp/stereo.wav" \
	synth 1 sine 20-20000 sine 500 vol 0.4 2>/dev/null
sox -n -r 48000 -c 3 -b 32 -e float "$tmp/three.wav" synth 0.1 sine 440 \
	2>/dev/null

# ---- against lv2apply -----------------------------------------------------------
ff -c "a:lv2 uri=$amp gain=-6" "$tmp/mono.wav" "$tmp/fx.wav"
capture lv2apply -i "$tmp/mono.wav" -o "$tmp/ref.wav" -c gain -6 "$amp"
same "$tmp/fx.wav" "$tmp/ref.wav"
verdict "SWH amp at -6 dB: fxfile's samples are lv2apply's, bit for bit" $?

ff -c "h:lv2 uri=$hpf cutoff=1000 resonance=1" "$tmp/mono.wav" "$tmp/fx.wav"
capture lv2apply -i "$tmp/mono.wav" -o "$tmp/ref.wav" -c cutoff 1000 \
	-c resonance 1 "$hpf"
same "$tmp/fx.wav" "$tmp/ref.wav"
verdict "SWH Butterworth highpass (1 kHz): bit for bit" $?

# The mono plugin on a stereo file runs once per channel: each channel
# must be what lv2apply makes of that channel alone.
ff -c "h:lv2 uri=$hpf cutoff=300 resonance=0.8" "$tmp/stereo.wav" \
	"$tmp/fx.wav"
ok=0
for ch in 1 2; do
	sox "$tmp/stereo.wav" "$tmp/in$ch.wav" remix "$ch" 2>/dev/null
	sox "$tmp/fx.wav" "$tmp/fx$ch.wav" remix "$ch" 2>/dev/null
	lv2apply -i "$tmp/in$ch.wav" -o "$tmp/ref$ch.wav" -c cutoff 300 \
		-c resonance 0.8 "$hpf" >/dev/null 2>&1
	same "$tmp/fx$ch.wav" "$tmp/ref$ch.wav" || ok=1
done
verdict "a mono plugin on a stereo file: each channel is lv2apply's" $ok

# ---- '#' in URIs ------------------------------------------------------------------
printf '[chain]\n# a limiter, then gain\nlim:lv2 uri=%s # the x42 one\n| vol:gain db=-1\n' \
	"$dpl" >"$tmp/hash.conf"
ff -f "$tmp/hash.conf" "$tmp/mono.wav" "$tmp/fx.wav"
[ "$rc" -eq 0 ]
verdict "a URI with '#' works unquoted; a '#' starting a word is a comment" $?

# ---- latency ------------------------------------------------------------------------
# A pulse at frame 4800 of silence, well under the limiter's threshold.
sox -n -r 48000 -c 1 -b 32 -e float "$tmp/silence.wav" trim 0 9600s
"$py" - "$tmp/silence.wav" "$tmp/pulse.wav" <<'EOF' ||
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.index(b"data") + 8 + 4800 * 4
data[at:at + 4] = struct.pack("<f", 0.25)
open(sys.argv[2], "wb").write(data)
EOF
	bail "cannot write a pulse"
# peak WAV: the frame of the largest sample.
peak() {
	f32 "$1" "$tmp/p.raw" &&
		od -An -v -tf4 -w4 "$tmp/p.raw" |
		awk '{ v = $1 < 0 ? -$1 : $1; if (v > m) { m = v; at = NR - 1 } }
		     END { print at + 0 }'
}
ff -v -c "lim:lv2 uri=$dpl threshold=0" "$tmp/pulse.wav" "$tmp/fx.wav"
lat=$(sed -n 's/.*latency \([0-9][0-9]*\) frames.*/\1/p' "$tmp/err" | head -n 1)
[ "$rc" -eq 0 ] && [ "${lat:-0}" -gt 0 ] && [ "$(peak "$tmp/fx.wav")" = 4800 ]
verdict "x42 dpl reports ${lat:-no} frames of latency; compensated, the pulse stays at 4800" $?
ff -v -c "lim:lv2 uri=$dpl threshold=0 bypass=1" "$tmp/pulse.wav" "$tmp/fx.wav"
lat2=$(sed -n 's/.*latency \([0-9][0-9]*\) frames.*/\1/p' "$tmp/err" | head -n 1)
[ "$rc" -eq 0 ] && [ "$lat2" = "$lat" ] && [ "$(peak "$tmp/fx.wav")" = 4800 ]
verdict "bypassed, the slot keeps its latency and the pulse stays at 4800" $?

# ---- errors -------------------------------------------------------------------------
ff -c "a:lv2 uri=${amp}x" "$tmp/mono.wav" "$tmp/fx.wav"
one_line "did you mean '$amp'"
verdict "an unknown URI: one line with the closest installed one, exit 2" $?

if [ -n "$worker" ]; then
	ff -c "w:lv2 uri=$worker" "$tmp/mono.wav" "$tmp/fx.wav"
	[ "$rc" -eq 0 ] && [ -s "$tmp/fx.wav" ]
	verdict "a plugin requiring the worker extension (x42 zeroconvolv) runs" $?
else
	pass "# SKIP x42 zeroconvolv is not installed"
fi

ff -c "a:lv2 uri=$amp gainn=-6" "$tmp/mono.wav" "$tmp/fx.wav"
one_line "unknown parameter 'gainn' (did you mean 'gain'?)"
verdict "an unknown port symbol: one line with a suggestion" $?

ff -c "a:lv2 uri=$amp gain=90" "$tmp/mono.wav" "$tmp/fx.wav"
one_line "gain=90 is out of range -70..70"
verdict "a value out of the plugin's range: one line" $?

ff -c "b:lv2 uri=$balance" "$tmp/three.wav" "$tmp/fx.wav"
one_line "has 2 audio inputs and 2 outputs"
verdict "a stereo plugin on 3 channels: refused, naming its port counts" $?

ff -c "a:lv2 gain=-6" "$tmp/mono.wav" "$tmp/fx.wav"
one_line "uri=URI must follow"
verdict "lv2 without uri=: one line" $?

capture "$fxd" --describe-lv2 "$amp"
[ "$rc" -eq 0 ] && grep -q "gain .*-70..70 (default 0, lin, glides)" "$tmp/out"
verdict "fxd --describe-lv2 lists the plugin's parameters from its ports" $?

capture "$fxd" --list-lv2
[ "$rc" -eq 0 ] && grep -qx "$amp" "$tmp/out" &&
	grep -A1 -x "$dpl" "$tmp/out" | grep -q "reports latency"
verdict "fxd --list-lv2 lists hostable plugins, with their latency" $?

mkdir "$tmp/no-plugins"
capture env LV2_PATH="$tmp/no-plugins" "$fxd" --describe-lv2 "$amp"
one_line "no LV2 plugin '$amp' is installed"
verdict "LV2_PATH is honoured: with an empty one, no plugin is found" $?

# ---- fxd ----------------------------------------------------------------------------
[ -x "$fxctl" ] || bail "$fxctl not found (set FXCTL_BIN)"
capture "$fxd" --no-mlock --chain "a:lv2 uri=${amp}x"
one_line "did you mean"
verdict "fxd with an unknown URI: one line, exit 2, before JACK" $?

start_jackd "$server" 256 "$tmp/jackd.log" || bail "no JACK server"
conf=$tmp/fxd.conf
printf '[chain]\namp:lv2 uri=%s gain=-6 | lim:lv2 uri=%s\n[midi]\ncc 1 7 = /fx/amp/gain -70 0\n' \
	"$amp" "$dpl" >"$conf"
mkdir "$tmp/presets"
state=$tmp/state
run_fxd() {
	start_fxd "$tmp/fxd.log" 150 -n "lv2-$$" --osc-port 0 --no-mlock \
		-f "$conf" --state-file "$state" --preset-dir "$tmp/presets" ||
		bail "fxd did not get ready"
}
run_fxd
value() {
	fx get "$1"
	[ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = "$1 $2" ]
}
value /fx/amp/gain -6
verdict "fxd runs the LV2 chain; /fx/amp/gain reads -6" $?
fx set /fx/amp/gain -12
value /fx/amp/gain -12
verdict "an LV2 control set over OSC reads back" $?
# slot_us NAME: the slot's mean microseconds per chunk, from /fxd/stats.
slot_us() {
	fx --json stats
	sed -n "s/.*\"slot\.$1\.us\":\([0-9.e+-]*\).*/\1/p" "$tmp/out"
}
us_amp=$(slot_us amp)
us_lim=$(slot_us lim)
[ -n "$us_amp" ] && [ -n "$us_lim" ] &&
	awk -v a="$us_amp" -v l="$us_lim" 'BEGIN { exit !(a > 0 && l > 0) }' &&
	grep -q '"slot.lim.nonfinite":0' "$tmp/out"
verdict "/fxd/stats times each slot (amp ${us_amp:-?} us, lim ${us_lim:-?} us per chunk)" $?
fx set /fx/lim/enable off
value /fx/lim/enable off
verdict "a toggle port takes its labels" $?
fx get /fx/lim/level
[ $rc -eq 0 ] && grep -Eq '^/fx/lim/level -?[0-9.e+-]+$' "$tmp/out"
verdict "a control output (dpl's level) answers a query with its value" $?
fx set /fx/lim/level 3
[ $rc -ne 0 ] && grep -q "'level' is a read-only output of $dpl" "$tmp/err"
verdict "... and refuses to be set" $?
# A subscriber gets /fxd/outputs with every output's path and value.
"$py" - "$port" >"$tmp/outputs" 2>&1 <<'EOF'
import socket, struct, sys, time
def pad(b):
    return b + b"\0" * (4 - len(b) % 4)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
s.sendto(pad(b"/fxd/subscribe") + pad(b","), ("127.0.0.1", int(sys.argv[1])))
end = time.monotonic() + 10
while time.monotonic() < end:
    try:
        data = s.recv(65536)
    except socket.timeout:
        continue
    if data.startswith(b"/fxd/outputs\0"):
        rest = data[16:]
        tags = rest[1:rest.index(b"\0")].decode()
        at = (len(tags) + 2 + 3) // 4 * 4
        args = rest[at:]
        for t in tags:
            if t == "s":
                n = args.index(b"\0")
                print(args[:n].decode(), end=" ")
                args = args[(n + 4) // 4 * 4:]
            elif t == "f":
                print(struct.unpack(">f", args[:4])[0])
                args = args[4:]
        sys.exit(0)
sys.exit(1)
EOF
grep -Eq '^/fx/lim/level -?[0-9.e+-]+$' "$tmp/outputs"
verdict "a subscriber gets /fxd/outputs: $(tr '\n' ' ' <"$tmp/outputs")" $?
http=$(sed -n 's/.*ready:.*, http [0-9.]*:\([0-9][0-9]*\).*/\1/p' \
	"$tmp/fxd.log" | head -n 1)
capture curl -sf "http://127.0.0.1:${http:-0}/fx/lim"
"$py" - "$tmp/out" "$dpl" <<'EOF'
import json, sys
node = json.load(open(sys.argv[1]))
level = node["CONTENTS"]["level"]
assert node["FXD_URI"] == sys.argv[2] and node["FXD_EFFECT"] == "lv2"
assert level["ACCESS"] == 1 and level["TYPE"] == "f" and level["UNIT"] == "dB"
assert len(level["VALUE"]) == 1 and "threshold" in node["CONTENTS"]
EOF
verdict "OSCQuery: the slot has FXD_URI, its output is a read-only node" $?
fx midi list
grep -q "cc 1 7 = /fx/amp/gain -70 0" "$tmp/out"
verdict "a [midi] mapping takes an LV2 control like any parameter" $?
fx preset save lv2set
fx set /fx/amp/gain -30
fx preset load lv2set
value /fx/amp/gain -12 && grep -q "amp:lv2 uri=$amp gain=-12" \
	"$tmp/presets/lv2set.fxchain" &&
	grep -Eq "lim:lv2 uri=$dpl .* state=[A-Za-z0-9+/=]{40,}" \
		"$tmp/presets/lv2set.fxchain"
verdict "a preset saves and loads an LV2 slot: control values, plugin state" $?
fx set /fx/amp/gain -9
poll 100 grep -qs "gain=-9" "$state"
stop "$fxd_pid" TERM 100
fxd_pid=
grep -Eq "lim:lv2 uri=$dpl .* state=[A-Za-z0-9+/=]{40,}" "$state"
saved=$?
run_fxd
[ "$saved" -eq 0 ] && value /fx/amp/gain -9 &&
	grep -q "chain (from $state)" "$tmp/fxd.log"
verdict "the state file restores LV2 controls and plugin state after a restart" $?
fx set /fx/amp/gain -12
value /fx/amp/gain -12 || bail "cannot set /fx/amp/gain back"
fx chain
grep -q "amp:lv2 uri=$amp gain=-12" "$tmp/out" &&
	grep -q "lim:lv2 uri=$dpl " "$tmp/out"
verdict "the running chain is written with uri= (so it saves and reloads)" $?

fx load "x:lv2 uri=${amp}x"
[ "$rc" -ne 0 ] && grep -q "did you mean" "$tmp/err" &&
	value /fx/amp/gain -12
verdict "a bad LV2 chain over OSC: refused with the reason, old chain kept" $?

printf '[chain]\namp:lv2 uri=%s gian=1\n' "$amp" >"$conf"
kill -HUP "$fxd_pid"
poll 100 grep -q "reload failed, the running chain is kept.*gian" "$tmp/fxd.log"
[ $? -eq 0 ] && value /fx/amp/gain -12
verdict "SIGHUP with a bad LV2 chain: the running chain is kept" $?

exit $bad
