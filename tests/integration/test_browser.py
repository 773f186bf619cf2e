#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""fxd's browser control surface (clients/web/fxd.html) in headless Chromium
through WebDriver (Debian's chromium, chromium-driver, python3-selenium 4.8),
against a running fxd: its page, its OSC port and fxctl. Prints TAP lines
numbered from --tap-start (test_browser.sh prints the plan); a failure that
leaves nothing more to test is a "Bail out!".

  test_browser.py --url http://127.0.0.1:H/ui --osc-port P --fxctl FXCTL \
      --logdir DIR
  test_browser.py --probe      # can Chromium run here? (exit 0 or 1, why)
"""
import argparse
import json
import socket
import statistics
import struct
import subprocess
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.actions import interaction
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.pointer_input import PointerInput
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

N_TESTS = 13  # test_browser.sh adds this to its own count
GAIN = "/fx/vol/db"          # in fxd's default chain
SWAP = "in:lowpass cutoff=2000 | out:gain db=-3"
NEW_GAIN = "/fx/out/db"


class Tap:
    def __init__(self, start):
        self.n = start
        self.bad = 0

    def ok(self, cond, desc, *why):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc))
        if not cond:
            self.bad = 1
            for w in why:
                for line in str(w).splitlines():
                    print("# " + line)
        sys.stdout.flush()
        return cond

    def bail(self, why):
        print("Bail out! " + why.splitlines()[0] if why else "Bail out!")
        sys.stdout.flush()
        sys.exit(1)


def chrome(width, height):
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--disable-gpu", "--no-first-run", "--disable-extensions",
              "--window-size=%d,%d" % (width, height)):
        o.add_argument(a)
    return webdriver.Chrome(options=o)


def await_cond(fn, timeout, step=0.02):
    """fn() until it is truthy (returned) or timeout s pass (None)."""
    end = time.monotonic() + timeout
    while True:
        try:
            v = fn()
        except WebDriverException:
            v = None
        if v:
            return v
        if time.monotonic() > end:
            return None
        time.sleep(step)


def osc_float(address, value):
    def s(x):
        b = x.encode() + b"\0"
        return b + b"\0" * (-len(b) % 4)
    return s(address) + s(",f") + struct.pack(">f", value)


# What a control shows, the standard way: aria-valuenow where it is set (a
# log fader's real value), else the native input's value.
READ = """
const e = document.querySelector('[data-osc-path="' + arguments[0] + '"]');
if (!e) return null;
const now = e.getAttribute('aria-valuenow');
return {tag: e.tagName, type: e.type || null, role: e.getAttribute('role'),
        now: now === null ? null : Number(now), value: e.value,
        min: e.getAttribute('aria-valuemin') ?? e.min,
        max: e.getAttribute('aria-valuemax') ?? e.max,
        text: e.getAttribute('aria-valuetext'),
        width: e.getBoundingClientRect().width};
"""

# Records (Date.now()) when the control first shows the value wanted.
WATCH = """
const [path, want] = arguments;
window.__seen = null;
const check = () => {
    const e = document.querySelector('[data-osc-path="' + path + '"]');
    if (e && Math.abs(Number(e.getAttribute('aria-valuenow')) - want) < 1e-3
        && window.__seen === null) window.__seen = Date.now();
};
if (window.__obs) window.__obs.disconnect();
window.__obs = new MutationObserver(check);
window.__obs.observe(document.body, {subtree: true, attributes: true,
    childList: true, attributeFilter: ['aria-valuenow']});
check();
"""


def shown(d, path):
    r = d.execute_script(READ, path)
    if not r:
        return None
    return r["now"] if r["now"] is not None else float(r["value"])


class Fxd:
    def __init__(self, fxctl, port):
        self.fxctl, self.port = fxctl, port

    def run(self, *args):
        p = subprocess.run([self.fxctl, "--port", str(self.port)] + list(args),
                           capture_output=True, text=True, timeout=15)
        return p.returncode, p.stdout.strip(), p.stderr.strip()

    def get(self, path):
        rc, out, _ = self.run("get", path)
        # "/fx/vol/db -6"
        try:
            return float(out.split()[-1]) if rc == 0 else None
        except (ValueError, IndexError):
            return None


def probe():
    try:
        d = chrome(400, 300)
        d.get("data:text/html,<p>ok</p>")
        ok = d.find_element(By.TAG_NAME, "p").text == "ok"
        d.quit()
        return 0 if ok else 1
    except Exception as e:  # any reason Chromium cannot run here
        print(str(e).strip().splitlines()[0] if str(e).strip() else repr(e))
        return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", action="store_true")
    ap.add_argument("--url")
    ap.add_argument("--osc-port", type=int)
    ap.add_argument("--osc-host", default="127.0.0.1")
    ap.add_argument("--fxctl")
    ap.add_argument("--logdir", default=".")
    ap.add_argument("--tap-start", type=int, default=0)
    ap.add_argument("--phone-shot", help="also save the phone shot here")
    ap.add_argument("--restart", help="a shell command that stops fxd and "
                    "starts it again on the same ports, with its default "
                    "chain, and returns once it is ready")
    a = ap.parse_args()
    if a.probe:
        return probe()

    t = Tap(a.tap_start)
    fxd = Fxd(a.fxctl, a.osc_port)
    shot = lambda name: "%s/test_browser-%s.png" % (a.logdir, name)
    try:
        d = chrome(1280, 900)
    except WebDriverException as e:
        t.bail("chromium did not start: %s" % e)
    try:
        # ---- the page, built from the tree ----------------------------
        d.get(a.url)
        live = await_cond(lambda: d.execute_script(
            "const c = document.getElementById('conn');"
            "return c && c.dataset.state === 'live' && document.querySelector("
            "'[data-osc-path=\"%s\"]') !== null;" % GAIN), 15)
        if not t.ok(live, "the page loads, connects its WebSocket and shows "
                    "[data-osc-path=\"%s\"]" % GAIN,
                    "status: %s" % d.execute_script(
                        "const c = document.getElementById('conn');"
                        "return c && c.textContent"),
                    "browser log: %s" % json.dumps(d.get_log("browser"))):
            t.bail("no page to test")
        r = d.execute_script(READ, GAIN)
        before = fxd.get(GAIN)
        t.ok(r["tag"] == "INPUT" and r["type"] == "range" and
             r["now"] is not None and r["min"] not in (None, "") and
             r["max"] not in (None, "") and r["text"] and
             before is not None and abs(r["now"] - before) < 1e-3,
             "the fader is a native range input with aria-valuenow/min/max/"
             "valuetext, showing fxd's value (%s)" % before, r)
        paths = d.execute_script(
            "return [...document.querySelectorAll('[data-osc-path]')]"
            ".map(e => e.dataset.oscPath)")
        t.ok(all(p in paths for p in ("/fx/hpf/cutoff", "/fx/dly/bypass",
                                      "/fxd/mute", "/fxd/panic",
                                      "/fxd/preset/load")) and
             d.execute_script(
                 "const e = document.querySelector("
                 "'[data-osc-path=\"/fx/hpf/cutoff\"]');"
                 "return e.dataset.oscScale === 'log' && "
                 "Number(e.getAttribute('aria-valuemax')) === 20000") and
             d.execute_script(
                 "const e = document.querySelector("
                 "'[data-osc-path=\"/fx/dly/bypass\"]');"
                 "return e.type === 'checkbox'"),
             "a strip per slot: Hz on a log fader, bypass a checkbox, mute, "
             "panic and presets", paths)

        # ---- keyboard steps move fxd's value ---------------------------
        el = d.find_element(By.CSS_SELECTOR, '[data-osc-path="%s"]' % GAIN)
        d.execute_script("arguments[0].focus()", el)
        el.send_keys(Keys.ARROW_LEFT * 10)
        moved = shown(d, GAIN)
        got = await_cond(lambda: (lambda v: v is not None and
                                  abs(v - moved) < 1e-3)(fxd.get(GAIN)), 5,
                         step=0.1)
        t.ok(moved is not None and before is not None and moved < before and
             got, "10 ARROW_LEFT steps move the fader (%s -> %s) and fxd's "
             "value follows (fxctl get: %s)" % (before, moved, fxd.get(GAIN)))
        sent = d.execute_script("return [window.fxd.sent[arguments[0]],"
                                "window.fxd.rate]", GAIN)
        times = [s[0] for s in sent[0] or []]
        gaps = [b - a for a, b in zip(times, times[1:])]
        t.ok(times and sent[0][-1][1] == moved and
             all(g >= 1000.0 / sent[1] - 2 for g in gaps),
             "the page sent %d messages for 10 steps, at most %g a second, "
             "the last one the value shown" % (len(times), sent[1]),
             "gaps (ms): %s" % gaps)

        # ---- OSC sets reach the page ----------------------------------
        fxd.run("set", GAIN, "-20")
        t.ok(await_cond(lambda: shown(d, GAIN) == -20, 20) and
             d.execute_script(
                 "return document.querySelector('[data-osc-path=\"%s\"]')"
                 ".closest('.param').dataset.changedElsewhere !== undefined"
                 % GAIN),
             "fxctl set %s -20 shows on the page, marked changed elsewhere"
             % GAIN, "page shows %s" % shown(d, GAIN))
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        lat = []
        for v in (-12.0, -24.0, -6.0, -30.0, -15.0):
            d.execute_script(WATCH, GAIN, v)
            t0 = time.time() * 1000
            udp.sendto(osc_float(GAIN, v), (a.osc_host, a.osc_port))
            seen = await_cond(lambda: d.execute_script(
                "return window.__seen"), 20, step=0.005)
            lat.append(seen - t0 if seen else None)
        udp.close()
        good = [x for x in lat if x is not None]
        t.ok(len(good) == len(lat),
             "5 OSC sets over UDP each appear on the page",
             "times (ms): %s" % lat)
        if good:
            print("# OSC set to page: %.0f ms (median of %d; min %.0f, "
                  "max %.0f)" % (statistics.median(good), len(good),
                                 min(good), max(good)))

        # ---- meters, latency and counters ------------------------------
        # /fxd/stats comes once a second, /fxd/meters ten times.
        out = await_cond(lambda: d.execute_script(
            "const m = document.querySelectorAll('.meter[aria-valuenow]');"
            "const l = [...document.querySelectorAll('#latency tbody th')]"
            ".map(e => e.textContent);"
            "const c = [...document.querySelectorAll('#counters dd')]"
            ".map(e => e.textContent);"
            "return m.length >= 1 && l.includes('callback') && "
            "c.length === 5 && c.every(x => /^[0-9]+$/.test(x)) && "
            "{meters: m.length, latency: l, counters: c}"), 5)
        t.ok(out, "output meters, the latency table and the xrun counters "
             "show what fxd sends", out)
        d.save_screenshot(shot("desktop"))

        # ---- a chain swap rebuilds the page ---------------------------
        builds = d.execute_script("return window.fxd.builds")
        rc, out, err = fxd.run("load", SWAP)
        rebuilt = await_cond(lambda: d.execute_script(
            "return document.querySelector('[data-osc-path=\"%s\"]') !== null"
            " && document.querySelector('[data-osc-path=\"%s\"]') === null"
            % (NEW_GAIN, GAIN)), 30)
        t.ok(rc == 0 and rebuilt and
             d.execute_script("return window.fxd.builds") > builds and
             shown(d, NEW_GAIN) == -3,
             "fxctl load '%s' rebuilds the page: %s appears (at -3), %s goes"
             % (SWAP, NEW_GAIN, GAIN), out, err)
        fxd.run("set", NEW_GAIN, "-9")
        t.ok(await_cond(lambda: shown(d, NEW_GAIN) == -9, 20),
             "the rebuilt page listens: fxctl set %s -9 shows" % NEW_GAIN,
             "page shows %s" % shown(d, NEW_GAIN))

        # ---- fxd restarts: the page reconnects and rebuilds -----------
        builds = d.execute_script("return window.fxd.builds")
        p = subprocess.run(["/bin/sh", "-c", a.restart], capture_output=True,
                           text=True, timeout=60)
        back = p.returncode == 0 and await_cond(lambda: d.execute_script(
            "return document.getElementById('conn').dataset.state === 'live'"
            " && window.fxd.builds > arguments[0] && document.querySelector("
            "'[data-osc-path=\"%s\"]') !== null" % GAIN, builds), 20)
        if back:
            fxd.run("set", GAIN, "-9")
        t.ok(back and await_cond(lambda: shown(d, GAIN) == -9, 20),
             "after fxd restarts the page reconnects, rebuilds (%s is back) "
             "and shows fxctl set %s -9" % (GAIN, GAIN),
             "restart: status %d %s %s" % (p.returncode, p.stdout, p.stderr),
             "page: %s" % d.execute_script(
                 "return document.getElementById('conn').textContent"))

        # ---- a phone: 360x740, touch ----------------------------------
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 360, "height": 740, "deviceScaleFactor": 2,
            "mobile": True})
        d.execute_cdp_cmd("Emulation.setTouchEmulationEnabled",
                          {"enabled": True, "maxTouchPoints": 5})
        d.refresh()
        await_cond(lambda: d.execute_script(
            "return document.getElementById('conn').dataset.state === 'live'"
            " && document.querySelector('[data-osc-path=\"%s\"]') !== null"
            " && document.querySelector('.meter[aria-valuenow]') !== null"
            " && /^[0-9]+$/.test(document.querySelector('#counters dd')"
            ".textContent)" % GAIN), 15)
        lay = d.execute_script(
            "const e = document.querySelector('[data-osc-path=\"%s\"]');"
            "const s = [...document.querySelectorAll('.strip')]"
            ".map(x => x.getBoundingClientRect());"
            "return {vw: window.innerWidth,"
            " scroll: document.documentElement.scrollWidth,"
            " fader: e.getBoundingClientRect().width,"
            " thumb: e.getBoundingClientRect().height,"
            " stacked: s.every((r, i) => i === 0 || r.top >= s[i-1].bottom)}"
            % GAIN)
        t.ok(lay["vw"] == 360 and lay["scroll"] <= 360 and
             lay["fader"] >= 280 and lay["thumb"] >= 40 and lay["stacked"],
             "at 360x740 the strips stack, nothing scrolls sideways and "
             "faders are thumb-sized", lay)
        el = d.find_element(By.CSS_SELECTOR, '[data-osc-path="%s"]' % GAIN)
        d.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
        box = d.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return [r.left, r.top, r.width, r.height]", el)
        d.execute_script(
            "window.__ev = []; for (const t of ['pointerdown', 'input'])"
            " document.addEventListener(t, e => window.__ev.push(t + ' on ' +"
            " e.target.tagName + ' ' + e.target.id), true)")
        ab = ActionBuilder(d, mouse=PointerInput(interaction.POINTER_TOUCH,
                                                 "finger"))
        y = int(box[1] + box[3] / 2)
        ab.pointer_action.move_to_location(int(box[0] + box[2] * 0.9), y)
        ab.pointer_action.pointer_down()
        ab.pointer_action.move_to_location(int(box[0] + box[2] * 0.5), y)
        ab.pointer_action.pointer_up()
        ab.perform()
        touched = await_cond(lambda: (lambda v: v if v != -9 else None)(
            shown(d, GAIN)), 20)
        got = await_cond(lambda: (lambda v: v is not None and touched is not
                                  None and abs(v - touched) < 1e-3)(
            fxd.get(GAIN)), 20, step=0.1)
        t.ok(touched is not None and touched != -9 and got,
             "a finger dragged along the fader sets fxd's value (%s)" % touched,
             "fxctl get: %s" % fxd.get(GAIN), "box: %s" % box,
             "events: %s" % d.execute_script("return window.__ev"))
        d.execute_script("window.scrollTo(0, 0)")
        d.save_screenshot(shot("phone"))
        if a.phone_shot:
            d.save_screenshot(a.phone_shot)
        print("# screenshots: %s, %s" % (shot("desktop"), shot("phone")))
    finally:
        d.quit()
    return t.bad


if __name__ == "__main__":
    sys.exit(main())
