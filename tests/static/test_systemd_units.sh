#!/bin/sh
# SPDX-License-Identifier: ISC
# Lints a DESTDIR install of the systemd user units with
# `systemd-analyze --user verify` (TAP). systemd only warns about unknown
# keys and bad values, so any output at all is a failure. verify also needs
# each ExecStart binary to exist, so the units' paths into the install
# prefix are pointed into DESTDIR, where `make install` put fxd. The same
# install must hold what a user reads and loads: the docs the man pages
# cite, the example config, the Pd patch, the TouchOSC files and every
# program's man page; and the units must not retry what a restart cannot
# fix.
set -u
lint=1
command -v systemd-analyze >/dev/null 2>&1 || lint=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fxd-units.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
units="fxd.service fxd@.service jackd.service"
n=0
bad=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; bad=1; }
echo "1..7"

# The parent make's jobserver is not ours: run a plain make.
if MAKEFLAGS= MFLAGS= ${MAKE:-make} -s install DESTDIR="$tmp/root" \
	>"$tmp/install.log" 2>&1; then
	pass "make install DESTDIR=..."
else
	fail "make install DESTDIR=..."
	sed 's/^/# /' "$tmp/install.log"
	exit 1
fi

unitdir=$(find "$tmp/root" -name fxd.service -exec dirname {} \; | head -n 1)
missing=
for u in $units; do
	[ -f "$unitdir/$u" ] || missing="$missing $u"
done
if [ -n "$unitdir" ] && [ -z "$missing" ] &&
	! grep -n '@[A-Za-z_]*@' "$unitdir"/*.service >"$tmp/subst"; then
	pass "units installed in ${unitdir#"$tmp/root"}, fully substituted"
else
	fail "units installed, fully substituted (missing:${missing:-none})"
	sed 's/^/# /' "$tmp/subst"
	exit 1
fi

# What `make install` puts beside the programs ($docdir, $pkgdatadir, man1).
root=$tmp/root
docdir=$(find "$root" -type d -path '*/share/doc/fxd' | head -n 1)
datadir=$(find "$root" -type d -path '*/share/fxd' | head -n 1)
man1=$(find "$root" -type d -path '*/share/man/man1' | head -n 1)
missing=
for f in "$docdir/osc.md" "$docdir/effects.md" "$docdir/fxd.conf.example" \
	"$docdir/README.md" "$docdir/systemd/README.md" \
	"$docdir/clients/README.md" \
	"$datadir/pd/fxd-control.pd" "$datadir/pd/README.md" \
	"$datadir/touchosc/fxd.touchosc" "$datadir/touchosc/fxd-touchosc.conf" \
	"$datadir/touchosc/index.xml" "$datadir/touchosc/README.md" \
	"$man1/fxd.1" "$man1/fxctl.1" "$man1/fxfile.1" "$man1/fxd-probe.1"; do
	[ -n "$docdir" ] && [ -n "$datadir" ] && [ -n "$man1" ] && [ -s "$f" ] ||
		missing="$missing ${f#"$root"}"
done
if [ -z "$missing" ]; then
	pass "docs in ${docdir#"$root"}, Pd and TouchOSC in ${datadir#"$root"}, man pages"
else
	fail "docs, Pd and TouchOSC files, man pages installed (missing:$missing)"
fi

# A bad config (2) or a taken OSC port (6) is not retried; fxd@NAME gets
# its OSC port from NAME.
r=0
for u in fxd.service fxd@.service; do
	grep -qx 'RestartPreventExitStatus=2 6' "$unitdir/$u" || r=1
done
grep -q '^ExecStart=.*/fxd .*--name %i --osc-port-by-name ' "$unitdir/fxd@.service" || r=1
if [ $r -eq 0 ]; then
	pass "units: RestartPreventExitStatus=2 6; fxd@ passes --osc-port-by-name"
else
	fail "units: RestartPreventExitStatus=2 6; fxd@ passes --osc-port-by-name"
	grep -n 'RestartPrevent\|^ExecStart' "$unitdir"/fxd*.service | sed 's/^/# /'
fi

if [ $lint -eq 0 ]; then
	for i in 5 6 7; do echo "ok $i # SKIP systemd-analyze not found"; done
	exit $bad
fi

# Point absolute ExecStart paths that were installed into DESTDIR.
mkdir -p "$tmp/lint" "$tmp/run" "$tmp/home"
chmod 700 "$tmp/run"
for u in $units; do
	while IFS= read -r line; do
		case $line in
		ExecStart=/*)
			cmd=${line#ExecStart=}
			bin=${cmd%% *}
			if [ -x "$tmp/root$bin" ]; then
				line="ExecStart=$tmp/root$cmd"
			elif [ ! -x "$bin" ]; then
				# jackd itself is not part of fxd.
				echo "# $bin is not installed; linting $u with /bin/true" >&2
				line="ExecStart=/bin/true"
			fi
			;;
		esac
		printf '%s\n' "$line"
	done <"$unitdir/$u" >"$tmp/lint/$u"
done
if grep -q "^ExecStart=$tmp/root/.*/fxd " "$tmp/lint/fxd.service"; then
	pass "fxd.service starts the installed fxd"
else
	fail "fxd.service starts the installed fxd"
	grep '^ExecStart' "$tmp/lint/fxd.service" | sed 's/^/# /'
fi

# A user manager's paths need a runtime directory, and %h a home.
(cd "$tmp/lint" && XDG_RUNTIME_DIR="$tmp/run" HOME="$tmp/home" \
	systemd-analyze --user verify --man=no $units) >"$tmp/verify" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
	pass "systemd-analyze --user verify exits 0"
else
	fail "systemd-analyze --user verify exits 0 (status $rc)"
fi
if [ ! -s "$tmp/verify" ]; then
	pass "systemd-analyze --user verify prints nothing"
else
	fail "systemd-analyze --user verify prints nothing"
	sed 's/^/# /' "$tmp/verify"
fi
exit $bad
