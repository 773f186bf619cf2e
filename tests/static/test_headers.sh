#!/bin/sh
# SPDX-License-Identifier: ISC
# Every public header compiles on its own (TAP).
set -u
n=0; bad=0
set -- $FX_HEADER_LIST
echo "1..$#"
for h in "$@"; do
	n=$((n + 1))
	if printf '#include "%s"\n' "$srcdir/$h" |
		$CC $CFLAGS -Werror -I"$srcdir" -x c -fsyntax-only - 2>err.$$; then
		echo "ok $n - $h compiles alone"
	else
		echo "not ok $n - $h compiles alone"; sed 's/^/# /' err.$$; bad=1
	fi
done
rm -f err.$$
exit $bad
