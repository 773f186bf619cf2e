#!/bin/sh
# Lints a DESTDIR install of the systemd user units with
# `systemd-analyze --user verify` (TAP). systemd only warns about unknown
# keys and bad values, so any output at all is a failure. verify also needs
# each ExecStart binary to exist, so the units' paths into the install
# prefix are pointed into DESTDIR, where `make install` put fxd.
set -u
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "1..1"
	echo "ok 1 # SKIP systemd-analyze not found"
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fxd-units.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
units="fxd.service fxd@.service jackd.service"
n=0
bad=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; bad=1; }
echo "1..5"

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
