#!/bin/sh
# SPDX-License-Identifier: ISC
# Calls point one way (README "Layout"): inside each library, the modules'
# objects call each other without a cycle (an arrow A -> B: A.o uses a
# symbol B.o defines; tsort finds any loop), and fxfile.o defines nothing
# but main, so fxfile's modules need nothing from the file with main (TAP).
# Environment: FX_BUILDDIR (the built tree).
set -u
build=${FX_BUILDDIR:-.}
libs="daemon/base/libfxbase.a daemon/engine/libfxengine.a osc/libfxosc.a
clients/file/libfxfile.a"
command -v nm >/dev/null && command -v ar >/dev/null ||
	{ echo "1..0 # SKIP nm or ar not installed"; exit 0; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
echo "1..5"
n=0; bad=0
for lib in $libs; do
	n=$((n + 1))
	rm -rf "$tmp/o" && mkdir "$tmp/o"
	(cd "$tmp/o" && ar x "$(cd "$build" && pwd)/$lib") || {
		echo "not ok $n - $lib: cannot read it"; bad=1; continue; }
	# A module: one .o, its _process.o and _impl parts count as the same.
	module() { basename "$1" .o | sed -E 's/^.*-//; s/_(process|impl|none)$//'; }
	for o in "$tmp"/o/*.o; do
		m=$(module "$o")
		nm --defined-only -g "$o" | awk -v m="$m" 'NF == 3 {print $3, m}'
	done | sort > "$tmp/def"
	for o in "$tmp"/o/*.o; do
		m=$(module "$o")
		nm -u "$o" | awk -v m="$m" '{print $NF, m}'
	done | sort > "$tmp/use"
	join "$tmp/use" "$tmp/def" | awk '$2 != $3 {print $2, $3}' | sort -u \
		> "$tmp/arrows"
	if tsort "$tmp/arrows" >/dev/null 2>"$tmp/loop"; then
		echo "ok $n - $lib: no call cycle ($(wc -l < "$tmp/arrows") arrows:" \
			"$(tr '\n' ';' < "$tmp/arrows"))"
	else
		echo "not ok $n - $lib: modules call each other in a cycle"
		sed 's/^/# /' "$tmp/loop"; bad=1
	fi
done
n=$((n + 1))
main_o=$(ls "$build"/clients/*fxfile.o 2>/dev/null | head -1)
defs=$(nm --defined-only -g "$main_o" 2>/dev/null | awk 'NF == 3 {print $3}' | tr '\n' ' ')
if [ "$defs" = "main " ]; then
	echo "ok $n - clients/fxfile.c defines only main"
else
	echo "not ok $n - clients/fxfile.c defines more than main: $defs"; bad=1
fi
exit $bad
