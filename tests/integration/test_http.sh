#!/bin/sh
# SPDX-License-Identifier: ISC
# fxd's HTTP side (osc/http.c, osc/oscquery.c) against the real fxd on a
# private dummy JACK server (TAP): ?HOST_INFO names the real ports, the
# OSCQuery tree holds every parameter fxctl lists with every attribute,
# statuses, the page, the WebSocket (LISTEN, IGNORE, binary OSC both
# ways, PATH_CHANGED on a chain swap), hostile HTTP (path traversal,
# oversized headers, 1,000 connections, slow-loris) leaving OSC and the
# audio served; --http-port taken, --no-http and --osc-allow. The checks
# are tests/integration/http_check.py. Skips without jackd or Debian's
# python3 with python3-websocket.
set -u
. "${srcdir:-.}/tests/integration/jack_lib.sh"

require_tools jackd jack_lsp timeout
py=/usr/bin/python3
[ -x "$py" ] && "$py" -c 'import websocket' 2>/dev/null ||
	skip "python3-websocket (Debian's python3) not found"
jack_test_begin http
client=fxh-$$-$(rand)

start_jackd "$server" 256 "$tmp/jackd.log" || bail "jackd did not start"
start_fxd "$tmp/fxd.log" 300 --name "$client" --osc-port 0 --http-port 0
[ -n "$port" ] || bail "fxd did not start"
http=$(sed -n 's/.*ready:.*, http [0-9.]*:\([0-9][0-9]*\).*/\1/p' \
	"$tmp/fxd.log" | head -n 1)
[ -n "$http" ] && pass "the ready line names the HTTP port" ||
	bail "no HTTP port in the ready line"

timeout -k 5 600 "$py" "${srcdir:-.}/tests/integration/http_check.py" \
	"$fxctl" "$port" "$http" "$client" 2 >"$tmp/checks" 2>&1 || bad=1
cat "$tmp/checks"
n=$((n + $(grep -cE '^(not )?ok ' "$tmp/checks")))
kill -0 "$fxd_pid" 2>/dev/null
verdict "fxd is still running" $?

# A port given and taken: an error; the default one taken: a warning.
cmd="fxd --http-port $http (taken)"
timeout 20 "$fxd" --name "$client-2" --osc-port 0 --http-port "$http" \
	>"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
[ "$rc" -eq 6 ] && grep -q "cannot listen on 127.0.0.1:$http" "$tmp/err"
verdict "a --http-port that is taken is an error (exit 6, as the OSC port)" $?
stop_or_kill "$fxd_pid"
fxd_pid=
start_fxd "$tmp/fxd2.log" 300 --name "$client" --osc-port 0 --no-http
grep -q "ready:.*, http off" "$tmp/fxd2.log"
verdict "--no-http: the ready line says http off" $?
stop_or_kill "$fxd_pid"
fxd_pid=
start_fxd "$tmp/fxd3.log" 300 --name "$client" --osc-port 0 --http-port 0 \
	--osc-allow 10.255.255.0/24
http=$(sed -n 's/.*ready:.*, http [0-9.]*:\([0-9][0-9]*\).*/\1/p' \
	"$tmp/fxd3.log" | head -n 1)
cmd="curl from 127.0.0.1 with --osc-allow 10.255.255.0/24"
"$py" -c 'import sys, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=5)
except Exception:
    sys.exit(0)
sys.exit(1)' "$http" >"$tmp/out" 2>"$tmp/err"
rc=$?
verdict "--osc-allow applies to HTTP peers" $rc
echo "1..$n"
exit $bad
