#!/bin/sh
# SPDX-License-Identifier: ISC
# Every source file carries "SPDX-License-Identifier: ISC" in its first 3
# lines (TAP, one line per file): the files scripts/source-files lists;
# scripts/add-spdx adds the line where it is missing. Environment: srcdir.
set -u
top=$(cd "${srcdir:-.}" && pwd)
files=$(sh "$top/scripts/source-files") || {
	echo "1..1"; echo "not ok 1 - scripts/source-files failed"; exit 1; }
[ -n "$files" ] || { echo "1..1"; echo "not ok 1 - no source files found under $top"; exit 1; }

echo "1..$(printf '%s\n' "$files" | wc -l)"
n=0; bad=0
for f in $files; do
	n=$((n + 1))
	if head -n 3 "$top/$f" |
		grep -Eq '^(#|//|/\*|dnl) SPDX-License-Identifier: ISC( \*/)?$'; then
		echo "ok $n - $f"
	else
		echo "not ok $n - $f has no 'SPDX-License-Identifier: ISC' in its first 3 lines (scripts/add-spdx)"
		bad=1
	fi
done
exit $bad
