#!/bin/sh
# SPDX-License-Identifier: ISC
# The OSCQuery tree against the parameter and method tables: the checker
# drives tests/unit/oscquery_dump and prints TAP.
dump=tests/unit/oscquery_dump
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 is not installed"
	exit 0
fi
exec python3 "${srcdir:-.}/tests/unit/check_oscquery.py" "$dump"
