#!/bin/sh
# SPDX-License-Identifier: ISC
# fxd's browser control surface in a real browser (TAP): the real fxd on a
# private dummy JACK server serves its page; headless Chromium, driven
# through WebDriver by tests/integration/test_browser.py, opens it, moves a
# fader by keyboard and by touch and checks fxd's value with fxctl, awaits
# values set over OSC on the page (and prints the time they took), swaps the
# chain and awaits the page rebuilt, and saves screenshots (desktop and
# 360x740) as tests/integration/test_browser-*.png in the build tree.
# Skips in one line when jackd, python3-selenium, chromium or chromedriver
# is missing or Chromium cannot start. FX_BROWSER_MOCK=clients/web/mock_fxd.py
# runs it against that stand-in instead of fxd (development only);
# FX_BROWSER_PHONE_SHOT=FILE also saves the phone shot there.
# shellcheck disable=SC2317 # functions run from trap and poll
set -u
. "${srcdir:-.}/tests/integration/jack_lib.sh"

py=/usr/bin/python3 # Debian's selenium is not on a pyenv python3's path
[ -x "$py" ] || py=python3
here=$(cd "${srcdir:-.}/tests/integration" && pwd)
mock=${FX_BROWSER_MOCK:-}
[ -n "$mock" ] || require_tools jackd jack_lsp timeout
require_tools "$py" chromedriver timeout
command -v chromium >/dev/null 2>&1 || command -v chromium-browser \
	>/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 ||
	skip "chromium not found"
"$py" -c 'import selenium' 2>/dev/null || skip "python3-selenium not installed"
why=$(timeout -k 5 60 "$py" "$here/test_browser.py" --probe 2>&1) ||
	skip "headless Chromium cannot run here: $(echo "$why" | head -n 1)"

jack_test_begin web
log_names="jackd fxd fxd2"
logdir=$builddir/tests/integration
mkdir -p "$logdir" || exit 1
rm -f "$logdir"/test_browser-*.png

# Until fxd serves HTTP (issue 14's server), there is no page to test.
[ -n "$mock" ] || "$fxd" --help 2>/dev/null | grep -q -- '--http-port' ||
	skip "fxd has no --http-port (built without its HTTP server)"
echo "1..15"
if [ -n "$mock" ]; then
	pass "no JACK server needed: the stand-in $mock"
	: >"$tmp/fxd.log"
	"$py" "$mock" --http-port 0 --osc-port 0 >>"$tmp/fxd.log" 2>&1 \
		</dev/null &
	fxd_pid=$!
	port=$(await_fxd "$fxd_pid" "$tmp/fxd.log" 300)
else
	start_jackd "$server" 256 "$tmp/jackd.log"
	pass_or_bail "jackd -d dummy runs as $server" $? "no JACK server"
	XDG_DATA_HOME=$tmp
	export XDG_DATA_HOME
	# The default chain, which has /fx/vol/db; a unique client name (JACK
	# names client sockets by client).
	start_fxd "$tmp/fxd.log" 300 -n "fxdweb-$$-$(rand)" --osc-port 0 \
		--http-port 0 --no-mlock
fi
# The ready line: "fxd: ready: ... osc udp 127.0.0.1:PORT, http ADDR:PORT".
http=$(sed -n 's/.*ready:.*[ ,]http \([0-9.]*:[0-9][0-9]*\).*/\1/p' \
	"$tmp/fxd.log" | head -n 1)
[ -n "$port" ] && [ -n "$http" ]
pass_or_bail "fxd is ready: OSC on UDP port $port, HTTP on $http" $? \
	"fxd did not print its ready line with OSC and HTTP ports"

# restart.sh: what test_browser.py runs to restart fxd on the same ports
# (the new fxd is restart.sh's child: its PID goes to fxd.pid, which the
# cleanup reads).
echo "$fxd_pid" >"$tmp/fxd.pid"
stop_helpers() { stop_or_kill "$(cat "$tmp/fxd.pid" 2>/dev/null)"; }
if [ -n "$mock" ]; then
	again="$py $mock --http-port ${http##*:} --osc-port $port"
else
	again="$fxd -n fxdweb-$$-$(rand) --osc-port $port --http-port ${http##*:} --no-mlock"
fi
cat >"$tmp/restart.sh" <<EOF
. "$here/jack_lib.sh"
stop_or_kill "\$(cat "$tmp/fxd.pid")" || exit 1
: >"$tmp/fxd2.log"
$again >>"$tmp/fxd2.log" 2>&1 </dev/null &
echo \$! >"$tmp/fxd.pid"
[ -n "\$(await_fxd \$! "$tmp/fxd2.log" 300)" ] || { cat "$tmp/fxd2.log"; exit 1; }
EOF

# Bounded: a hung browser is a failure, not a hung make check.
timeout -k 5 240 "$py" "$here/test_browser.py" --tap-start 2 --url "http://$http/ui" \
	--osc-port "$port" --fxctl "$fxctl" --logdir "$logdir" \
	--restart "sh $tmp/restart.sh" \
	${FX_BROWSER_PHONE_SHOT:+--phone-shot "$FX_BROWSER_PHONE_SHOT"} \
	>"$tmp/browser.out" 2>"$tmp/browser.err" </dev/null
rc=$?
cat "$tmp/browser.out"
sed 's/^/# test_browser.py: /' "$tmp/browser.err"
[ $rc -eq 0 ] || { bad=1; logs; }
exit $bad
