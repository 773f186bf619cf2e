#!/bin/sh
# SPDX-License-Identifier: ISC
# Every C source and header is as .clang-format writes it (TAP, one line per
# file); `clang-format -i FILE` fixes one. Skips where clang-format is not
# installed (scripts/install-deps installs it). Environment: srcdir.
set -u
top=$(cd "${srcdir:-.}" && pwd)
if ! command -v clang-format >/dev/null 2>&1; then
	echo "1..0 # SKIP clang-format not installed"
	exit 0
fi
files=$(sh "$top/scripts/source-files" | grep -E '\.[ch]$')
[ -n "$files" ] || { echo "1..1"; echo "not ok 1 - no C files found under $top"; exit 1; }

echo "1..$(printf '%s\n' "$files" | wc -l)"
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
n=0; bad=0
for f in $files; do
	n=$((n + 1))
	if (cd "$top" && clang-format --dry-run -Werror "$f") >"$tmp" 2>&1; then
		echo "ok $n - $f"
	else
		echo "not ok $n - $f is not as .clang-format writes it (clang-format -i $f)"
		head -n 6 "$tmp" | sed 's/^/# /'
		bad=1
	fi
done
exit $bad
