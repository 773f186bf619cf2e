#!/bin/sh
# SPDX-License-Identifier: ISC
# doc/effects.md matches what the parameter tables generate (TAP).
echo "1..1"
if doc/gen_effects_doc | diff -u "$srcdir/doc/effects.md" - >diff.$$; then
	echo "ok 1 - doc/effects.md is up to date"
	rm -f diff.$$
else
	echo "not ok 1 - doc/effects.md is stale: run 'make effects-doc'"
	sed 's/^/# /' diff.$$; rm -f diff.$$
	exit 1
fi
