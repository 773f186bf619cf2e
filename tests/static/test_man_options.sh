#!/bin/sh
# SPDX-License-Identifier: ISC
# Every long option a program's --help names has a row (a .TP/.TQ tag) in
# the OPTIONS section of its man page (TAP, one line per option). fxd's and
# fxfile's --help come from their option tables; fxctl's and fxd-probe's
# from their own. Environment: srcdir, FX_BUILDDIR (the built programs).
set -u
top=$(cd "${srcdir:-.}" && pwd)
build=${FX_BUILDDIR:-.}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

programs='fxd:daemon/fxd
fxfile:clients/fxfile
fxd-probe:clients/fxd-probe
fxctl:clients/fxctl'

# The long options in the tags of a man page's OPTIONS section.
man_options() {
	awk '/^\.SH/ { in_opts = ($2 == "OPTIONS") }
	     in_opts && (prev == ".TP" || prev == ".TQ") { print }
	     { prev = $1 }' "$1" |
		sed 's/\\-/-/g' | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

echo "$programs" | while IFS=: read -r name bin; do
	if [ -x "$build/$bin" ]; then
		"$build/$bin" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u |
			sed "s|^|$name |"
	else
		echo "$name MISSING"
	fi
done > "$tmp/help"
echo "1..$(wc -l < "$tmp/help")"

n=0; bad=0
while read -r name opt; do
	n=$((n + 1))
	man=$top/doc/$name.1
	if [ "$opt" = MISSING ]; then
		echo "not ok $n - $name: no program at $build/$(echo "$programs" | sed -n "s/^$name://p") (FX_BUILDDIR)"
		bad=1; continue
	fi
	[ -f "$tmp/man-$name" ] || man_options "$man" > "$tmp/man-$name"
	if grep -qx -- "$opt" "$tmp/man-$name"; then
		echo "ok $n - $name $opt is in doc/$name.1"
	else
		echo "not ok $n - $name $opt has no row in the OPTIONS of doc/$name.1"
		bad=1
	fi
done < "$tmp/help"
exit $bad
