#!/bin/sh
# SPDX-License-Identifier: ISC
# cppcheck finds nothing (warning, performance, portability) in the C
# sources of dsp/ daemon/ osc/ clients/ cuda/ (TAP). False positives are
# suppressed in tests/static/cppcheck.supp, each with its reason, or inline
# with a "cppcheck-suppress" comment. Skips where cppcheck is not installed
# (scripts/install-deps installs it). Environment: srcdir, FX_CONFIG_H.
set -u
top=$(cd "${srcdir:-.}" && pwd)
if ! command -v cppcheck >/dev/null 2>&1; then
	echo "1..0 # SKIP cppcheck not installed"
	exit 0
fi
files=$(sh "$top/scripts/source-files" | grep -E '^(dsp|daemon|osc|clients|cuda)/.*\.c$')
config_dir=$(dirname "${FX_CONFIG_H:-config.h}")
[ -f "$config_dir/config.h" ] && config_dir=$(cd "$config_dir" && pwd) || config_dir=$top
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT

echo "1..1"
# shellcheck disable=SC2086
if (cd "$top" && cppcheck --error-exitcode=1 --quiet \
	--enable=warning,performance,portability --std=c11 --inline-suppr \
	-I"$top" -I"$config_dir" --suppress=missingIncludeSystem \
	--suppressions-list="$top/tests/static/cppcheck.supp" \
	-j 2 $files) >"$tmp" 2>&1; then
	echo "ok 1 - cppcheck: no findings in $(echo $files | wc -w) files"
else
	echo "not ok 1 - cppcheck findings (tests/static/cppcheck.supp for false positives)"
	grep -E '^[^ ].*: (error|warning|portability|performance|style):' "$tmp" |
		sed 's/^/# /' | grep . || tail -n 20 "$tmp" | sed 's/^/# /'
	exit 1
fi
