#!/bin/sh
# SPDX-License-Identifier: ISC
# The layers and their arrows (README "Layout"): every .c and .h of a layer
# compiles with an include tree that holds only the headers that layer may
# use, so an include of a higher layer's header fails here (TAP).
#   dsp/ -> cuda/, daemon/base/ -> daemon/engine/ -> osc/ -> daemon/
#   dsp/, cuda/, daemon/base/ -> clients/file/ -> clients/
# Environment: srcdir, CC, CFLAGS, FX_LAYER_CFLAGS (pkg-config flags of the
# libraries), FX_CONFIG_H (the built config.h).
set -u
top=$(cd "${srcdir:-.}" && pwd)
config_h=${FX_CONFIG_H:-config.h}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# layer : the folders whose headers it may include (itself first)
layers='dsp:dsp
cuda:cuda dsp
daemon/base:daemon/base dsp
daemon/engine:daemon/engine daemon/base dsp
osc:osc daemon/engine daemon/base dsp
daemon:daemon osc daemon/engine daemon/base dsp
clients/file:clients/file cuda daemon/base dsp
clients:clients clients/file cuda daemon/base dsp'

count=0
echo "$layers" | while IFS=: read -r layer allowed; do
	for f in "$top/$layer"/*.c "$top/$layer"/*.h "$top/$layer"/*.cu; do
		[ -f "$f" ] && echo x
	done
done > "$tmp/count"
echo "1..$(($(wc -l < "$tmp/count") + 1))"

n=0; bad=0
while IFS=: read -r layer allowed; do
	inc="$tmp/inc-$(echo "$layer" | tr / _)"
	mkdir -p "$inc"
	[ -f "$config_h" ] && ln -s "$(cd "$(dirname "$config_h")" && pwd)/config.h" "$inc/config.h"
	for dir in $allowed; do
		mkdir -p "$inc/$dir"
		for h in "$top/$dir"/*.h; do
			[ -f "$h" ] && ln -s "$h" "$inc/$dir/"
		done
	done
	for f in "$top/$layer"/*.c "$top/$layer"/*.h "$top/$layer"/*.cu; do
		[ -f "$f" ] || continue
		n=$((n + 1)); name=${f#"$top"/}
		# Every quoted include names its folder from the top, one of these.
		wrong=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
			while read -r h; do
				ok=; for dir in $allowed; do
					[ "$(dirname "$h")" = "$dir" ] && [ -f "$top/$h" ] && ok=1
				done
				[ "$h" = config.h ] && ok=1
				[ -n "$ok" ] || echo "$h"
			done)
		if [ -n "$wrong" ]; then
			echo "not ok $n - $name includes outside $allowed:" $wrong; bad=1
		elif grep -q 'cuda_runtime.h' "$f" || [ "${f%.cu}" != "$f" ]; then
			echo "ok $n - $name uses only $allowed (nvcc source: includes read, not compiled)"
		elif $CC $CFLAGS ${FX_LAYER_CFLAGS:-} -DFX_SRCDIR='"."' -I"$inc" -x c \
			-fsyntax-only "$f" 2>"$tmp/err"; then
			echo "ok $n - $name uses only $allowed"
		elif grep -Eq 'fatal error: (dsp|cuda|daemon|osc|clients|tests)/[^:]*: No such file' "$tmp/err"; then
			echo "not ok $n - $name includes above its layer ($allowed)"
			sed 's/^/# /' "$tmp/err" | head -5; bad=1
		elif grep -q 'fatal error: .*: No such file' "$tmp/err"; then
			echo "ok $n - $name # SKIP $(grep -o 'fatal error: [^:]*' "$tmp/err" | head -1) (library not installed)"
		else
			echo "not ok $n - $name does not compile alone"
			sed 's/^/# /' "$tmp/err" | head -5; bad=1
		fi
	done
done <<LAYERS
$layers
LAYERS

# No include cycle between modules anywhere (a module: a .c and its .h,
# with its _process.c, _impl.h and _none.c): tsort finds any loop.
n=$((n + 1))
for f in $(cd "$top" && ls dsp/*.[ch] cuda/*.[ch] cuda/*.cu daemon/*.[ch] \
	daemon/*/*.[ch] osc/*.[ch] clients/*.[ch] clients/*/*.[ch] 2>/dev/null); do
	m=$(echo "${f%.*}" | sed -E 's/_(process|impl|none)$//')
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' \
		"$top/$f" | while read -r h; do
		hm=$(echo "${h%.*}" | sed -E 's/_(process|impl|none)$//')
		[ "$hm" != "$m" ] && [ "$h" != config.h ] && echo "$m $hm"
	done
done > "$tmp/edges"
if tsort "$tmp/edges" >/dev/null 2>"$tmp/loop"; then
	echo "ok $n - no include cycle between modules ($(wc -l < "$tmp/edges") arrows)"
else
	echo "not ok $n - modules include each other in a cycle"
	sed 's/^/# /' "$tmp/loop"; bad=1
fi
exit $bad
