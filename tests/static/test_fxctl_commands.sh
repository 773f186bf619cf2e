#!/bin/sh
# SPDX-License-Identifier: ISC
# Every command in fxctl's command table (clients/fxctl.c, `commands[]`) has
# a row (a .TP/.TQ tag) in the COMMANDS section of doc/fxctl.1 and a line in
# the Commands list of `fxctl --help` (TAP, two lines per command).
# Environment: srcdir, FX_BUILDDIR (the built fxctl).
set -u
top=$(cd "${srcdir:-.}" && pwd)
fxctl=${FX_BUILDDIR:-.}/clients/fxctl
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# {"name", "sub" or NULL, ...} rows of the table, as "name" or "name sub".
sed -n '/^static const Command commands\[\] = {/,/^};/p' "$top/clients/fxctl.c" |
	sed -n 's/^[[:space:]]*{"\([^"]*\)",[[:space:]]*\(NULL\|"\([^"]*\)"\).*/\1 \3/p' |
	sed 's/ *$//' > "$tmp/table"
if [ ! -s "$tmp/table" ]; then
	echo "1..1"
	echo "not ok 1 - no command table found in clients/fxctl.c (static const Command commands[])"
	exit 1
fi

# The man page's COMMANDS tags, without fonts, quotes and \-.
awk '/^\.SH/ { in_cmds = ($2 == "COMMANDS") }
     in_cmds && (prev == ".TP" || prev == ".TQ") { print }
     { prev = $1 }' "$top/doc/fxctl.1" |
	sed -e 's/^\.[A-Z]* //' -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/"//g' \
	    -e 's/  */ /g' -e 's/^ //' > "$tmp/man"
# The Commands: block of --help, up to the next blank line.
"$fxctl" --help 2>&1 | sed -n '/^Commands:/,/^$/p' |
	sed -e 's/^ *//' > "$tmp/help"

echo "1..$(($(wc -l < "$tmp/table") * 2))"
n=0; bad=0
# One TAP line: is command $1 a row of list $2, which is named $3?
row() {
	n=$((n + 1))
	if grep -q "^$1\( \|\$\)" "$2"; then
		echo "ok $n - fxctl $1 is in $3"
	else
		echo "not ok $n - fxctl $1 has no row in $3"
		bad=1
	fi
}
while read -r cmd; do
	row "$cmd" "$tmp/man" "the COMMANDS of doc/fxctl.1"
	row "$cmd" "$tmp/help" "fxctl --help ($fxctl)"
done < "$tmp/table"
exit $bad
