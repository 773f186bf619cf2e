#!/bin/sh
# SPDX-License-Identifier: ISC
# fxfile, the offline twin of fxd (clients/fxfile.c, doc/fxfile.1), as a
# black box (TAP): a filter chain against scipy's output
# (tests/data/README.md), byte-identical output for any --chunk, every
# format and subtype libsndfile writes here read back exactly, pipes in and
# out, --normalize (also from stdin), dither, 3 and 6 channels, latency
# compensation, --tail, config files, inputs shorter than their headers
# say, FIFOs as input and config, and every error path: one line on
# stderr, exit status 2, nothing left behind. Needs sox and python3; no
# JACK.
# shellcheck disable=SC2317 # functions run from trap
# shellcheck disable=SC2002 # cat FILE | fxfile: stdin must be a pipe
# shellcheck disable=SC2046 # set -- $(wav ...) splits its output on purpose
set -u
. "${srcdir:-.}/tests/integration/jack_lib.sh"

# python3 from the system: a pyenv one may come first on PATH.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
for tool in sox "$py" timeout; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not found"
done

builddir=${abs_top_builddir:-${top_builddir:-.}}
fxfile=${FXFILE_BIN:-$builddir/clients/fxfile}
[ -x "$fxfile" ] || skip "$fxfile not built"
# The test runs in its own directory: absolute paths.
case $fxfile in /*) ;; *) fxfile=$PWD/$fxfile ;; esac
data=$(cd "${srcdir:-.}/tests/data" && pwd) || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fxd-fxfile.XXXXXX") || exit 1
bg_pid=
writer_pid=
cleanup() {
	[ -n "$bg_pid" ] && kill "$bg_pid" 2>/dev/null
	[ -n "$writer_pid" ] && kill "$writer_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# run ARGS...: fxfile ARGS (killed after 60 s); $rc, $tmp/out, $tmp/err.
run() {
	cmd="fxfile $*"
	timeout -k 2 60 "$fxfile" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
}
show() {
	echo "# command: $cmd"
	echo "# exit status $rc"
	sed 's/^/# stderr: /' "$tmp/err"
}
check() { # DESC STATUS: pass if STATUS is 0
	if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1"; show; fi
}
# ok DESC: the last run exited 0 with nothing on stderr.
ok() {
	[ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ]
	check "$1" $?
}
# refused DESC PATTERN: the last run exited 2 with one line on stderr,
# "fxfile: ..." matching the grep pattern PATTERN.
refused() {
	[ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
		grep -q '^fxfile: ' "$tmp/err" && grep -q -- "$2" "$tmp/err"
	check "$1" $?
}
# temp_of DIR NAME: the temporary file fxfile writes NAME to, if any.
temp_of() {
	for f in "$1/.$2.tmp-"*; do
		[ -e "$f" ] && return 0
	done
	return 1
}
# no_leftovers DIR: no temporary output of fxfile's in DIR.
no_leftovers() {
	for f in "$1"/.*.tmp-*; do
		[ -e "$f" ] && return 1
	done
	return 0
}

# A small tool for what the shell cannot do: WAV in and out, comparisons.
cat >"$tmp/wav.py" <<'EOF'
import array, math, struct, sys

def chunks(b):
    i = 12
    while i + 8 <= len(b):
        cid, n = b[i:i + 4], struct.unpack('<I', b[i + 4:i + 8])[0]
        yield cid, b[i + 8:i + 8 + n]
        i += 8 + n + (n & 1)

def read(path):
    """(rate, channels, interleaved floats) of a PCM or float WAV."""
    b = open(path, 'rb').read()
    assert b[:4] == b'RIFF' and b[8:12] == b'WAVE', path
    fmt = data = None
    for cid, body in chunks(b):
        if cid == b'fmt ':
            fmt = body
        elif cid == b'data':
            data = body
    tag, ch, rate = struct.unpack('<HHI', fmt[:8])
    bits = struct.unpack('<H', fmt[14:16])[0]
    if tag == 0xFFFE:
        tag = struct.unpack('<H', fmt[24:26])[0]
    if tag == 3:
        a = array.array('f' if bits == 32 else 'd')
        a.frombytes(data)
        return rate, ch, list(a)
    n = bits // 8
    scale = 2.0 ** (bits - 1)
    if n == 3:
        v = [int.from_bytes(data[i:i + 3], 'little', signed=True)
             for i in range(0, len(data), 3)]
    else:
        a = array.array({1: 'B', 2: 'h', 4: 'i'}[n])
        a.frombytes(data)
        v = [x - 128 for x in a] if n == 1 else list(a)
    return rate, ch, [x / scale for x in v]

def write_f32(path, rate, ch, samples):
    d = array.array('f', samples).tobytes()
    fmt = struct.pack('<HHIIHH', 3, ch, rate, rate * ch * 4, ch * 4, 32)
    open(path, 'wb').write(
        b'RIFF' + struct.pack('<I', 4 + 8 + len(fmt) + 8 + len(d)) +
        b'WAVE' + b'fmt ' + struct.pack('<I', len(fmt)) + fmt +
        b'data' + struct.pack('<I', len(d)) + d)

def main(cmd, *a):
    if cmd == 'f32wav':        # RAW.f32 OUT.wav RATE: float WAV, unclipped
        x = array.array('f')
        x.frombytes(open(a[0], 'rb').read())
        write_f32(a[1], int(a[2]), 1, x)
    elif cmd == 'vsref':       # OUT.wav REF.f64 TOL: relative RMS error
        _, _, y = read(a[0])
        r = array.array('d')
        r.frombytes(open(a[1], 'rb').read())
        if len(y) != len(r):
            sys.exit('%d samples, not %d' % (len(y), len(r)))
        e = math.sqrt(sum((p - q) ** 2 for p, q in zip(y, r)) / len(r))
        rel = e / math.sqrt(sum(q * q for q in r) / len(r))
        print('relative RMS error %.3g' % rel)
        sys.exit(0 if rel <= float(a[2]) else 1)
    elif cmd == 'peak':        # WAV TARGET_DB TOL_DB
        _, _, y = read(a[0])
        db = 20 * math.log10(max(abs(v) for v in y))
        print('peak %.5f dBFS' % db)
        sys.exit(0 if abs(db - float(a[1])) <= float(a[2]) else 1)
    elif cmd == 'frames':      # WAV: frames and channels
        _, ch, y = read(a[0])
        print(len(y) // ch, ch)
    elif cmd == 'lsb':         # A.wav B.wav: 16-bit PCM, max |A-B| in LSB
        _, _, p = read(a[0])
        _, _, q = read(a[1])
        d = [round((u - v) * 32768) for u, v in zip(p, q)]
        print(len(p) - len(q), max(abs(x) for x in d),
              sum(1 for x in d if x))
    elif cmd == 'channel':     # MULTI.wav K MONO.wav: channel K == MONO
        _, ch, m = read(a[0])
        _, _, s = read(a[2])
        k = int(a[1])
        sys.exit(0 if m[k::ch] == s else 1)
    elif cmd == 'same':        # A.wav B.wav TOL: the same audio within TOL
        _, c1, p = read(a[0])
        _, c2, q = read(a[1])
        worst = max(abs(u - v) for u, v in zip(p, q)) if p else 0
        print('max difference %.3g' % worst)
        sys.exit(0 if c1 == c2 and len(p) == len(q) and
                 worst <= float(a[2]) else 1)

main(*sys.argv[1:])
EOF
wav() { "$py" "$tmp/wav.py" "$@" 2>>"$tmp/err"; }

echo "1..60"

# ---- the command line ------------------------------------------------------

run --help
[ $rc -eq 0 ] && head -n 1 "$tmp/out" | grep -q '^Usage: fxfile ' &&
	grep -q -- '--normalize PEAK_DB' "$tmp/out" && [ ! -s "$tmp/err" ]
check "--help prints the usage and exits 0" $?

run --version
[ $rc -eq 0 ] && grep -q '^fxfile' "$tmp/out"
check "--version" $?

run --list-effects
[ $rc -eq 0 ] && grep -q 'lowpass' "$tmp/out" && grep -q 'reverb' "$tmp/out"
check "--list-effects lists the registry" $?

# ---- inputs ------------------------------------------------------------------

cd "$tmp" || exit 1
# The scipy input, as a float WAV (sox would clip its peaks above 1).
wav f32wav "$data/signal.in.f32" sig.wav 48000
# Noise at 44.1 kHz, 24-bit, 3 s: more than two of fxfile's blocks.
sox -n -r 44100 -c 2 -b 24 noise.wav synth 3 pinknoise gain -6
# 2 s of 16-bit stereo tones, and a float copy with the same values.
sox -n -r 48000 -c 2 -b 16 tones.wav synth 2 sine 440 sine 660 gain -4
"$fxfile" -q -c gain --no-dither --subtype FLOAT tones.wav tonesf.wav

# ---- exactness -----------------------------------------------------------------

for t in 1 2; do
	run -q --threads "$t" -c 'lowpass cutoff=8000 order=10' --subtype DOUBLE \
		sig.wav "lp$t.wav"
	[ $rc -eq 0 ] && wav vsref "lp$t.wav" "$data/lp10_8000_48000.out.f64" 1e-5 >"$tmp/py.out"
	r=$?
	check "lowpass order 10 at 8 kHz matches scipy's sosfilt, --threads $t ($(cat "$tmp/py.out"))" $r
done

run -q -c 'gain db=0' --no-dither tones.wav copy.wav
ok "a 0 dB chain without dither runs"
cmp -s tones.wav copy.wav
check "PCM_16 in, PCM_16 out is bit-exact without dither" $?

# ---- chunk size --------------------------------------------------------------

chain='hpf:highpass cutoff=60 | lpf:lowpass cutoff=9000 order=6 |
comp:compressor threshold=-24 ratio=4 | dly:delay time=180 feedback=0.5 mix=0.4 |
verb:reverb room=0.7 mix=0.3 | eq:peaking cutoff=2000 gain=3 | lim:limiter'
for t in 1 2; do
	r=0
	for c in 1 7 4096 65536; do
		run -q --threads "$t" --chunk "$c" --tail 2 --subtype FLOAT \
			-c "$chain" noise.wav "chunk$t.$c.wav"
		[ $rc -eq 0 ] || { r=1; show; }
	done
	for c in 1 7 4096; do
		cmp -s "chunk$t.65536.wav" "chunk$t.$c.wav" || r=1
	done
	check "--threads $t: chunks of 1, 7, 4096 and 65536 frames give one file (delay, reverb, compressor, filters, limiter, --tail 2)" $r
done
set -- $(wav frames chunk1.1.wav)
[ "${1:-0}" -eq $((3 * 44100 + 2 * 44100)) ]
check "--tail 2 adds 2 s" $?

# The convolver: a true-stereo response at 48 kHz on a 44.1 kHz file (so
# resampled), with its partitions up to 8192 frames: the same file for any
# chunk.
sox -n -r 48000 -c 4 -b 24 ir4.wav synth 0.5 pinknoise gain -12 fade q 0 0.5 0.45
r=0
for c in 1 7 4096; do
	run -q --chunk "$c" --subtype FLOAT \
		-c "cab:convolver ir=$PWD/ir4.wav mix=70 gain=-3 predelay=5" \
		noise.wav "conv.$c.wav"
	[ $rc -eq 0 ] || { r=1; show; }
done
cmp -s conv.4096.wav conv.1.wav && cmp -s conv.4096.wav conv.7.wav || r=1
check "the convolver (true stereo, resampled): chunks of 1, 7 and 4096 give one file" $r

# ---- latency ---------------------------------------------------------------

# A limiter below its ceiling changes nothing; its 5 ms look-ahead must not
# move the output either.
run -q -c 'lim:limiter ceiling=-1 lookahead=5' tonesf.wav lim.wav
run2=$rc
run -q -c 'gain db=0' tonesf.wav unity.wav
[ $run2 -eq 0 ] && [ $rc -eq 0 ] && cmp -s lim.wav unity.wav
check "the chain's latency is compensated: OUT lines up with IN" $?

# ---- formats -----------------------------------------------------------------

# Values on the 16-bit grid survive every subtype; read back as float they
# must equal the input exactly.
r=0 n_ok=0 refused_ok=1
for fmt in wav aiff au flac caf w64 rf64 raw; do
	for sub in PCM_16 PCM_24 PCM_32 FLOAT DOUBLE; do
		run -q --no-dither --format "$fmt" --subtype "$sub" -c gain \
			tonesf.wav "rt.$fmt.$sub"
		if [ "$fmt" = flac ] && { [ "$sub" = PCM_32 ] || [ "$sub" = FLOAT ] || [ "$sub" = DOUBLE ]; }; then
			if [ $rc -ne 2 ] || ! grep -q 'cannot hold it' "$tmp/err"
			then
				refused_ok=0
				show
			fi
			continue
		fi
		[ $rc -eq 0 ] || { r=1; show; continue; }
		raw=
		[ "$fmt" = raw ] && raw="--raw-input 48000:2:$sub"
		# shellcheck disable=SC2086
		run -q --no-dither --subtype FLOAT $raw -c gain "rt.$fmt.$sub" \
			"back.$fmt.$sub.wav"
		if [ $rc -eq 0 ] && cmp -s tonesf.wav "back.$fmt.$sub.wav"; then
			n_ok=$((n_ok + 1))
		else
			r=1
			echo "# $fmt $sub does not read back the same"
			show
		fi
	done
done
check "WAV, AIFF, AU, CAF, W64, RF64, RAW x PCM_16/24/32, FLOAT, DOUBLE and FLAC x PCM_16/24 read back exactly ($n_ok round trips)" $r
check "FLAC refuses PCM_32, FLOAT and DOUBLE with a clear line" $((1 - refused_ok))

run -q -c gain tones.wav kept.flac
[ $rc -eq 0 ] && sox --i -b kept.flac | grep -q '^16$'
check "the output keeps the input's subtype when the format holds it" $?
run -q -c gain tonesf.wav float2flac.flac
[ $rc -eq 0 ] && sox --i -b float2flac.flac | grep -q '^24$'
check "a float input to FLAC becomes 24-bit" $?

# ---- pipes -----------------------------------------------------------------

"$fxfile" -q -c 'gain db=-3' tones.wav direct.wav
r=0
for fmt in au flac raw; do
	raw=
	[ "$fmt" = raw ] && raw="--raw-input 48000:2:PCM_16"
	# shellcheck disable=SC2086
	cat tones.wav | "$fxfile" -q -c gain --no-dither --format "$fmt" - - |
		"$fxfile" -q -c 'gain db=-3' $raw - "piped.$fmt.wav" 2>"$tmp/err" ||
		{ r=1; echo "# $fmt: $(cat "$tmp/err")"; }
	cmp -s direct.wav "piped.$fmt.wav" || { r=1; echo "# $fmt differs"; }
done
check "stdin to stdout and back as AU, FLAC and RAW gives the file's output" $r

"$fxfile" -q -c gain tones.wav notseekable.flac
cat notseekable.flac | "$fxfile" -q -c 'gain db=-3' - fromflac.wav 2>"$tmp/err"
r=$?
"$fxfile" -q -c 'gain db=-3' notseekable.flac fromflacfile.wav
[ $r -eq 0 ] && cmp -s fromflac.wav fromflacfile.wav
check "FLAC on stdin (which libsndfile cannot read from a pipe) is spooled and read" $?

{
	"$fxfile" -q -c gain --format wav tones.wav - 2>"$tmp/err" </dev/null
	echo $? >"$tmp/rc"
} | cat >/dev/null
rc=$(cat "$tmp/rc")
cmd="fxfile -c gain --format wav tones.wav - | cat"
refused "WAV to stdout is refused: it cannot stream" 'cannot be written to a pipe'
run -c gain tones.wav -
refused "stdout without --format is refused" 'needs --format'

# ---- normalize ---------------------------------------------------------------

run -q --normalize -1 --subtype FLOAT -c 'gain db=-20' noise.wav norm.wav
[ $rc -eq 0 ] && wav peak norm.wav -1 0.01 >"$tmp/py.out"
check "--normalize -1: $(cat "$tmp/py.out")" $?
cat tones.wav |
	"$fxfile" -q --normalize -3 -c 'lowpass cutoff=1000' - norm2.wav 2>"$tmp/err" &&
	wav peak norm2.wav -3 0.01 >"$tmp/py.out"
check "--normalize -3 from stdin, 16-bit: $(cat "$tmp/py.out")" $?
cat notseekable.flac |
	"$fxfile" -q --normalize -6 -c gain - norm3.wav 2>"$tmp/err" &&
	wav peak norm3.wav -6 0.01 >"$tmp/py.out"
check "--normalize -6 from FLAC on stdin: $(cat "$tmp/py.out")" $?

# ---- dither ------------------------------------------------------------------

for i in 1 2; do
	"$fxfile" -q --subtype PCM_16 -c 'gain db=-7' tonesf.wav "dith$i.wav"
	"$fxfile" -q --subtype PCM_16 --no-dither -c 'gain db=-7' tonesf.wav \
		"plain$i.wav"
done
cmp -s dith1.wav dith2.wav && cmp -s plain1.wav plain2.wav
check "16-bit output is deterministic, dithered or not" $?
set -- $(wav lsb dith1.wav plain1.wav)
[ "${1:-1}" -eq 0 ] && [ "${2:-9}" -le 1 ] && [ "${3:-0}" -gt 1000 ]
check "TPDF dither changes many samples, none by more than 1 LSB ($3 differ)" $?

# ---- channels ----------------------------------------------------------------

r=0
for ch in 3 6; do
	set --
	for k in $(seq 1 "$ch"); do set -- "$@" sine $((k * 150)); done
	sox -n -r 48000 -c "$ch" -b 24 "multi$ch.wav" synth 1.5 "$@" gain -8
	run -q --subtype FLOAT -c 'lowpass cutoff=2000 order=4 | gain db=-3' \
		"multi$ch.wav" "multi$ch.out.wav"
	[ $rc -eq 0 ] || { r=1; show; }
	for k in $(seq 1 "$ch"); do
		sox "multi$ch.wav" "mono$ch.$k.wav" remix "$k"
		"$fxfile" -q --subtype FLOAT -c 'lowpass cutoff=2000 order=4 | gain db=-3' \
			"mono$ch.$k.wav" "mono$ch.$k.out.wav"
		wav channel "multi$ch.out.wav" $((k - 1)) "mono$ch.$k.out.wav" ||
			{ r=1; echo "# $ch channels: channel $k differs"; }
	done
done
check "3 and 6 channels: each channel comes out as it would alone" $r
run -q --subtype FLOAT -c 'comp:compressor | verb:reverb' multi6.wav multi6c.wav
set -- $(wav frames multi6c.wav)
[ $rc -eq 0 ] && [ "${2:-0}" -eq 6 ]
check "6 channels through a compressor and a reverb" $?

# ---- config files ------------------------------------------------------------

cat >rig.conf <<'EOF'
# an fxd config: fxd's keys are fxd's business
name = guitar
channels = 2
[fxfile]
subtype = FLOAT
no-dither = yes
[chain]
lpf:lowpass cutoff=8000 order=10
EOF
run -q -f rig.conf sig.wav conf.wav
[ $rc -eq 0 ] && wav vsref conf.wav "$data/lp10_8000_48000.out.f64" 1e-5 >/dev/null
check "-f reads an fxd config's [chain], fxd's keys skipped, [fxfile] options applied" $?
printf '[chain]\nlpf:lowpass cutoff=8000\n| vol:gain db=99\n' >bad.conf
run -f bad.conf sig.wav badconf.wav
refused "a bad chain in a config file is reported at FILE:LINE:COL" '^fxfile: bad.conf:3:[0-9]*: '
printf '[fxfile]\nthreds = 2\n[chain]\ngain\n' >typo.conf
run -f typo.conf sig.wav typo.wav
refused "an unknown [fxfile] key is refused with a suggestion" "did you mean 'threads'"

# ---- errors ------------------------------------------------------------------

run -c gain missing.wav x.wav
refused "a missing input" "cannot open 'missing.wav'"
echo "not audio" >junk.wav
run -c gain junk.wav x.wav
refused "an input that is not audio" "not a sound file"
run -c 'gain x=1' tones.wav x.wav
refused "a bad spec names the place in it" '^fxfile: chain:1:'
run -c gain tones.wav x.xyz
refused "an unknown extension" 'cannot tell the format'
run -c gain --format nope tones.wav x.wav
refused "an unknown --format" "unknown format 'nope'"
run -c gain --subtype PCM_12 tones.wav x.wav
refused "an unknown --subtype" "PCM_12"
[ ! -e x.wav ] && [ ! -e x.xyz ] && no_leftovers .
check "refusals leave no file behind" $?

cp tones.wav exists.wav
run -q -c 'gain db=-6' tones.wav exists.wav
refused "an existing output needs --force" 'exists (--force replaces it)'
cmp -s tones.wav exists.wav
check "... and is left as it was" $?
run -q --force -c 'gain db=-6' tones.wav exists.wav
[ $rc -eq 0 ] && ! cmp -s tones.wav exists.wav
check "--force replaces it" $?

sum=$(cksum <tones.wav)
run -q --force -c gain tones.wav tones.wav
refused "the input as output is refused, even with --force" 'is the input file'
ln -s tones.wav link.wav
run -q --force -c gain tones.wav link.wav
refused "... also through a symbolic link" 'is the input file'
ln tones.wav hard.wav
run -q --force -c gain tones.wav hard.wav
refused "... and through a hard link" 'is the input file'
# shellcheck disable=SC2094 # reading and writing it is the point
"$fxfile" -q --force -c gain - tones.wav <tones.wav 2>"$tmp/err"
rc=$?
cmd="fxfile -q --force -c gain - tones.wav <tones.wav"
refused "... and from stdin" 'is the input file'
[ "$(cksum <tones.wav)" = "$sum" ]
check "the input is untouched" $?

# --device: the CPU always; without a usable CUDA device (no GPU, or a
# build without CUDA) cuda is refused and auto says so once and runs on
# the CPU, byte for byte as --device cpu. The GPU branch is not tested
# here: a GPU only changes the result to rounding.
nocuda='(this build has no CUDA support|no CUDA device.*)'
run -c 'lowpass cutoff=2000 | gain db=-3 | delay' --device cpu tones.wav cpu.wav
ok "--device cpu runs the chain"
run -c 'lowpass cutoff=2000 | gain db=-3 | delay' --device cuda tones.wav cuda.wav
if [ $rc -eq 0 ]; then
	ok "--device cuda runs on the device that is present"
	run -c 'lowpass cutoff=2000 | gain db=-3 | delay' tones.wav auto.wav
	ok "--device auto uses it, silently"
else
	[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
		grep -Eq "^fxfile: --device cuda: $nocuda\$" "$tmp/err" &&
		[ ! -e cuda.wav ] && no_leftovers .
	check "--device cuda without a device: exit 2, one line, no output" $?
	# auto by default says nothing (most machines have no GPU); asked
	# for, it says why in one line.
	run -c 'lowpass cutoff=2000 | gain db=-3 | delay' tones.wav auto.wav
	[ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && cmp -s cpu.wav auto.wav &&
		run -c 'lowpass cutoff=2000 | gain db=-3 | delay' --device auto \
			tones.wav auto2.wav &&
		[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
		grep -Eq "^fxfile: $nocuda: using the CPU\$" "$tmp/err" &&
		cmp -s cpu.wav auto2.wav
	check "no device: auto is silent by default, --device auto says so in one line; the CPU's bytes" $?
fi

# A full disk: a file size limit makes writes fail with EFBIG.
r=0
for fmt in wav flac; do
	(ulimit -f 200 && exec "$fxfile" -q -c gain noise.wav "full.$fmt") \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	cmd="ulimit -f 200; fxfile -q -c gain noise.wav full.$fmt"
	if [ $rc -ne 2 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] ||
		! grep -q "cannot write 'full.$fmt'" "$tmp/err" || [ -e "full.$fmt" ]
	then
		r=1
		show
	fi
done
no_leftovers . || r=1
check "a full disk: exit 2, one line, no partial or temporary file" $r

# ---- truncated inputs ----------------------------------------------------------

# 1 s at 48 kHz whose header gives 48000 frames, cut to fewer bytes.
r=0
for fmt in wav aiff au; do
	sox -n -r 48000 -c 2 -b 16 "whole.$fmt" synth 1 sine 440 gain -6
	size=$(wc -c <"whole.$fmt")
	head -c $((size * 6 / 10)) "whole.$fmt" >"cut.$fmt"
	run -q -c gain "cut.$fmt" "cut.$fmt.out.wav"
	if [ $rc -ne 2 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] ||
		! grep -q "^fxfile: 'cut.$fmt' is truncated: its header gives 48000 frames, the file holds [0-9]* (--accept-truncated takes what is there)\$" "$tmp/err" ||
		[ -e "cut.$fmt.out.wav" ]
	then
		r=1
		show
	fi
done
no_leftovers . || r=1
check "WAV, AIFF and AU shorter than their headers say: exit 2, one line, no output" $r

run -c gain --device cpu --accept-truncated cut.wav cut.accepted.wav
set -- $(wav frames cut.accepted.wav)
held=$((($(wc -c <cut.wav) - 44) / 4))
[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	grep -q "^fxfile: 'cut.wav' is truncated: its header gives 48000 frames, the file holds $held; going on with those\$" "$tmp/err" &&
	[ "${1:-0}" -eq "$held" ]
check "--accept-truncated: one note, and the $held frames there are" $?

cat cut.wav | "$fxfile" -q -c gain - cut.piped.wav 2>"$tmp/err"
rc=$?
cmd="cat cut.wav | fxfile -q -c gain - cut.piped.wav"
refused "... also on stdin, found at its end" \
	"^fxfile: stdin is truncated: its header gives 48000 frames, it brought $held (--accept-truncated"
[ ! -e cut.piped.wav ] && no_leftovers .
check "... which leaves no output and no temporary file" $?

# A header written for streaming gives a placeholder, not a length.
sox -n -r 48000 -c 2 -b 16 -t wav - synth 1 sine 440 gain -6 2>/dev/null |
	"$fxfile" -q -c gain - streamed.wav 2>"$tmp/err"
rc=$?
cmd="sox ... -t wav - | fxfile -q -c gain - streamed.wav"
set -- $(wav frames streamed.wav)
ok "a WAV streamed by sox (placeholder length) is not taken for truncated"
[ "${1:-0}" -eq 48000 ]
check "... and all of its 48000 frames come out" $?

# ---- FIFO input ------------------------------------------------------------------

# Whether process $1 has its signal handlers in (SIGINT's bit in SigCgt).
# Until it execs, a child of "cmd &" is a copy of this shell whose trap
# shows SIGINT caught; it then ignores SIGINT and execs, so a SIGINT sent
# then is lost. Hence: not this shell's program first, then SigCgt.
catches_sigint() {
	[ -n "$shell_exe" ] && exe=$(readlink "/proc/$1/exe") &&
		[ "$exe" != "$shell_exe" ] || return 1
	mask=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
	[ -n "$mask" ] && [ $((0x$mask & 2)) -ne 0 ]
}
# Whether process $1 has not ended (a zombie has).
alive() {
	[ -e "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]
}
# fifo_sigint DESC: fxfile reads in.fifo; SIGINT, once its handlers are
# in, must end it within 10 s with status 130, one line, no output.
fifo_sigint() {
	"$fxfile" -q -c gain in.fifo fifo.out.wav 2>"$tmp/err" </dev/null &
	bg_pid=$!
	tries=200
	while [ $tries -gt 0 ] && ! catches_sigint "$bg_pid"; do
		sleep 0.05
		tries=$((tries - 1))
	done
	[ $tries -gt 0 ] || echo "# no SIGINT handler seen in 200 tries"
	kill -INT "$bg_pid"
	tries=200
	while [ $tries -gt 0 ] && alive "$bg_pid"; do
		sleep 0.05
		tries=$((tries - 1))
	done
	alive "$bg_pid" && { kill -KILL "$bg_pid"; echo "# still running 10 s after SIGINT: killed"; }
	wait "$bg_pid"
	rc=$?
	bg_pid=
	cmd="fxfile -q -c gain in.fifo fifo.out.wav, then SIGINT"
	[ $rc -eq 130 ] && [ "$(cat "$tmp/err")" = "fxfile: interrupted by SIGINT; nothing written" ] &&
		[ ! -e fifo.out.wav ] && no_leftovers .
	check "$1" $?
}
shell_exe=$(readlink "/proc/$$/exe")
mkfifo in.fifo
run -f in.fifo tones.wav x.wav
refused "a FIFO as config file is refused at once, unread" \
	"^fxfile: config file 'in.fifo' is a FIFO, not a regular file\$"
fifo_sigint "a FIFO with no writer: SIGINT exits 130 with the documented line"
sleep 60 >in.fifo &
writer_pid=$!
fifo_sigint "a FIFO whose writer sends nothing: the same"
kill "$writer_pid" 2>/dev/null
wait "$writer_pid" 2>/dev/null
writer_pid=

# ---- SIGINT --------------------------------------------------------------------

# Reading one frame at a time makes a run of 2 minutes of audio take
# seconds.
sox -n -r 48000 -c 2 -b 16 long.wav synth 120 pinknoise gain -6
sum=$(cksum <long.wav)

# The progress bar, on a terminal.
if command -v script >/dev/null 2>&1; then
	script -qec "'$fxfile' --chunk 64 -c 'verb:reverb' long.wav tty.wav" \
		/dev/null >"$tmp/tty" 2>&1
	grep -q '% \[#*\.*\] *[0-9.]*x realtime  ETA [0-9]*:[0-9][0-9]' "$tmp/tty"
	r=$?
	[ $r -eq 0 ] || sed 's/^/# tty: /' "$tmp/tty"
	check "on a terminal: a progress bar with percent, speed and ETA" $r
else
	pass "progress bar # SKIP no script(1) for a terminal"
fi

"$fxfile" -q --chunk 1 -c 'verb:reverb | dly:delay | lpf:lowpass order=8' \
	long.wav long.out.wav 2>"$tmp/err" &
bg_pid=$!
tries=100
while [ $tries -gt 0 ] && ! temp_of . long.out.wav; do
	sleep 0.05
	tries=$((tries - 1))
done
kill -INT "$bg_pid"
wait "$bg_pid"
rc=$?
bg_pid=
cmd="fxfile ... long.wav long.out.wav, then SIGINT"
[ $tries -gt 0 ] && [ $rc -eq 130 ] && [ ! -e long.out.wav ] && no_leftovers . &&
	[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q 'interrupted by SIGINT' "$tmp/err" &&
	[ "$(cksum <long.wav)" = "$sum" ]
check "SIGINT: exit 130, one line, no output, no temporary file, input untouched" $?

exit $bad
