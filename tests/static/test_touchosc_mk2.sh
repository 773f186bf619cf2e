#!/bin/sh
# SPDX-License-Identifier: ISC
# The TouchOSC Mk2 layout clients/touchosc/fxd.tosc (TAP): it is what
# build-mk2.py makes of fxd-mk2.xml, byte for byte; it is a zlib stream of
# <lexml version="3"> XML; every OSC path in it is one fxd answers (the
# default chain's parameters, read from daemon/options.h and
# doc/effects.md, which test_effects_doc.sh holds to the tables, and the
# /fxd/ addresses of doc/osc.md); each fader sends 0..1 to a /norm path
# (or to /fxd/morph) and starts where the default chain puts its parameter;
# every slot has its name, its bypass; mute, panic, morph and meters are
# there; Makefile.am installs and ships it. Skips without python3.
# Environment: srcdir.
set -u
top=$(cd "${srcdir:-.}" && pwd)
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 not installed"
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fxd-tosc.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

if ! python3 "$top/clients/touchosc/build-mk2.py" "$tmp/fxd.tosc" \
	>"$tmp/build.log" 2>&1; then
	echo "1..1"
	echo "not ok 1 - clients/touchosc/build-mk2.py builds fxd.tosc"
	sed 's/^/# /' "$tmp/build.log"
	exit 1
fi

exec python3 - "$top" "$tmp/fxd.tosc" <<'PY'
import math, os, re, sys, zlib
import xml.etree.ElementTree as ET

top, rebuilt = sys.argv[1], sys.argv[2]
committed = os.path.join(top, "clients/touchosc/fxd.tosc")
checks = []


def check(ok, what, notes=()):
    checks.append((bool(ok), what, list(notes)))


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---- 1, 2: the committed file is the build of the committed source ---------
old, new = read(committed), read(rebuilt)
try:
    old_xml, new_xml = zlib.decompress(old), zlib.decompress(new)
except zlib.error as e:
    print("1..1\nnot ok 1 - fxd.tosc is a zlib stream: %s" % e)
    sys.exit(1)
if old == new:
    checks.append((True, "fxd.tosc is byte for byte what build-mk2.py makes "
                   "of fxd-mk2.xml", []))
elif old_xml == new_xml:
    # Another zlib (zlib-ng) packs the same XML into other bytes.
    checks.append((True, "fxd.tosc is byte for byte what build-mk2.py makes "
                   "# SKIP this python's zlib %s packs differently"
                   % zlib.ZLIB_RUNTIME_VERSION, []))
else:
    check(False, "fxd.tosc is byte for byte what build-mk2.py makes of "
          "fxd-mk2.xml", ["fxd.tosc is stale: run clients/touchosc/build-mk2.py"
                          " and commit fxd.tosc"])
check(old_xml == new_xml, "fxd.tosc holds the XML fxd-mk2.xml gives",
      ["fxd.tosc is stale: run clients/touchosc/build-mk2.py"])

# ---- fxd's namespace, from the sources ---------------------------------
opts = read(os.path.join(top, "daemon/options.h")).decode()
m = re.search(r"#define FX_DEFAULT_CHAIN((?:[^\n]*\\\n)*[^\n]*)", opts)
chain_text = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))) if m else ""
chain = []  # (label, effect, {param: value})
for stage in chain_text.split("|"):
    words = stage.split()
    if not words or ":" not in words[0]:
        continue
    label, effect = words[0].split(":", 1)
    chain.append((label, effect, dict(w.split("=", 1) for w in words[1:])))

effects, current = {}, None
for line in read(os.path.join(top, "doc/effects.md")).decode().splitlines():
    h = re.match(r"## `([a-z0-9_]+)`", line)
    if h:
        current = effects.setdefault(h.group(1), {})
        continue
    row = re.match(r"\| `([a-z0-9_]+)` \|([^|]*)\|([^|]*)\|([^|]*)\|([^|]*)\|",
                   line)
    output = re.match(r"\| `([a-z0-9_]+)` \|[^|]*\|[^|]*\|[^|]*\|$", line)
    if current is not None and output and not row:
        current.setdefault("\0outputs", []).append(output.group(1))
        continue
    if current is not None and row:
        name, _, values, default, scale = (c.strip() for c in row.groups())
        rng = re.match(r"(-?[0-9.]+)\.\.(-?[0-9.]+)$", values)
        current[name] = {"min": float(rng.group(1)) if rng else None,
                         "max": float(rng.group(2)) if rng else None,
                         "default": default, "scale": scale}
check(chain and all(e in effects for _, e, _ in chain),
      "the default chain (daemon/options.h: %s) and its effects' parameters "
      "(doc/effects.md) are read" % " | ".join(l for l, _, _ in chain),
      ["chain %r; effects.md knows %s" % (chain_text, sorted(effects))])

namespace = {}  # path -> (param info or None)
for label, effect, values in chain:
    namespace["/fx/%s/bypass" % label] = None
    for name in effects.get(effect, {}).get("\0outputs", []):
        namespace["/fx/%s/%s" % (label, name)] = None
    for name, info in effects.get(effect, {}).items():
        if name == "\0outputs":
            continue
        namespace["/fx/%s/%s" % (label, name)] = info
        namespace["/fx/%s/%s/norm" % (label, name)] = dict(
            info, value=values.get(name, info["default"]))
# A slot labelled tuner is optional (fxd 'tuner:tuner | ...'): its outputs.
for name in effects.get("tuner", {}).get("\0outputs", []):
    namespace["/fx/tuner/%s" % name] = None
osc_md = read(os.path.join(top, "doc/osc.md")).decode()
fxd_methods = set(re.findall(r"`(/fxd/[a-z_/]*[a-z_])", osc_md))
for path in fxd_methods:
    namespace[path] = None


def norm(info):
    v, lo, hi = float(info["value"]), info["min"], info["max"]
    if info["scale"] == "log":
        return math.log(v / lo) / math.log(hi / lo)
    return (v - lo) / (hi - lo)


# ---- 3: the format -------------------------------------------------------
try:
    root = ET.fromstring(old_xml)
except ET.ParseError as e:
    print("1..1\nnot ok 1 - fxd.tosc holds well-formed XML: %s" % e)
    sys.exit(1)
nodes = root.findall("node")
top_node = nodes[0] if len(nodes) == 1 else None


def kids(node, tag):
    el = node.find(tag)
    return list(el) if el is not None else []


def props(node):
    out = {}
    for p in kids(node, "properties"):
        v = p.find("value")
        if p.get("type") in ("r", "c"):
            out[p.findtext("key")] = [float(c.text) for c in v]
        else:
            out[p.findtext("key")] = v.text or ""
    return out


def values(node):
    return {v.findtext("key"): v.findtext("default")
            for v in kids(node, "values")}


def walk(node, parent=None):
    """Each node with where it sits: "" for the root's children, "/meters"
    for those of the root's group named meters."""
    yield node, parent
    here = "" if parent is None else parent + "/" + props(node).get("name")
    for child in kids(node, "children"):
        yield from walk(child, here)


frame = props(top_node).get("frame") if top_node is not None else None
check(root.tag == "lexml" and root.get("version") == "3" and
      top_node is not None and top_node.get("type") == "GROUP" and
      frame and frame[2] > frame[3] >= 600,
      "root <lexml version=\"3\"> holds one GROUP, a landscape tablet page",
      ["root %s %s, frame %s" % (root.tag, root.attrib, frame)])
all_nodes = list(walk(top_node)) if top_node is not None else []
ids = [n.get("ID") for n, _ in all_nodes]
bad_types = sorted({n.get("type") for n, _ in all_nodes} -
                   {"GROUP", "FADER", "BUTTON", "LABEL"})
check(len(set(ids)) == len(ids) and all(ids) and not bad_types,
      "%d nodes, each with its own ID, all GROUP, FADER, BUTTON or LABEL"
      % len(all_nodes), ["types %s" % bad_types])

# ---- the OSC messages ---------------------------------------------------
messages = []  # (node, parent, path, args, osc element)
notes = []
for node, parent in all_nodes:
    for o in kids(node, "messages"):
        if o.tag != "osc":
            notes.append("%s/%s: a <%s> message" % (parent or "", node.get("type"),
                                                  o.tag))
            continue
        path = ""
        for p in o.find("path"):
            if p.findtext("type") != "CONSTANT":
                notes.append("%s: a path partial of type %s"
                             % (parent or "/", p.findtext("type")))
            path += p.findtext("value") or ""
        args = [(p.findtext("type"), p.findtext("conversion"),
                 p.findtext("value"), float(p.findtext("scaleMin")),
                 float(p.findtext("scaleMax")))
                for p in o.find("arguments")]
        messages.append((node, parent, path, args, o))
unknown = sorted({p for _, _, p, _, _ in messages if p not in namespace})
script = props(top_node).get("script", "") if top_node is not None else ""
script_paths = set(re.findall(r"'(/[a-z_/]+)'", script))
unknown += sorted(p for p in script_paths if p not in namespace)
check(messages and not unknown and not notes,
      "all %d OSC paths (and the script's %s) are in fxd's namespace"
      % (len(messages), ", ".join(sorted(script_paths))),
      ["not fxd's: %s" % p for p in unknown] + notes)

# ---- 4, 5: the faders ---------------------------------------------------
bad, starts = [], []
faders = [(n, par) for n, par in all_nodes if n.get("type") == "FADER"]
interactive = [(n, par) for n, par in faders
               if props(n).get("interactive") == "1"]
for node, parent in interactive:
    msgs = [m for m in messages if m[0] is node]
    where = "fader %s/%s" % (parent, props(node).get("name"))
    if len(msgs) != 1:
        bad.append("%s: %d OSC messages" % (where, len(msgs)))
        continue
    _, _, path, args, o = msgs[0]
    if not (path.endswith("/norm") or path == "/fxd/morph"):
        bad.append("%s sends to %s, not a /norm path" % (where, path))
    if args != [("VALUE", "FLOAT", "x", 0.0, 1.0)]:
        bad.append("%s sends %s, not x as a float 0..1" % (where, args))
    if o.findtext("send") != "1" or o.findtext("receive") != "1":
        bad.append("%s does not both send and follow feedback" % where)
    info = namespace.get(path)
    if info and "value" in info:
        want, got = norm(info), float(values(node).get("x", "nan"))
        if not abs(want - got) < 5e-4:
            starts.append("%s starts at %s; fxd's %s is %s = %.4f"
                          % (where, got, path[:-5], info["value"], want))
check(interactive and not bad,
      "%d faders each send x 0..1 to a /norm path or /fxd/morph, and follow "
      "its feedback" % len(interactive), bad)
check(interactive and not starts,
      "each parameter fader starts where the default chain puts it", starts)

# ---- 6: what the surface holds ------------------------------------------
missing = []
sent = {m[2]: m for m in messages}
texts = {values(n).get("text") for n, _ in all_nodes
         if n.get("type") == "LABEL"}
for label, effect, _ in chain:
    m = sent.get("/fx/%s/bypass" % label)
    if not (m and m[0].get("type") == "BUTTON" and
            props(m[0]).get("buttonType") in ("1", "2") and
            m[3][0][1] == "INTEGER"):
        missing.append("a bypass toggle for %s" % label)
    if label not in texts:
        missing.append("a label naming slot %s" % label)
m = sent.get("/fxd/mute")
if not (m and props(m[0]).get("buttonType") in ("1", "2")):
    missing.append("a mute toggle")
m = sent.get("/fxd/panic")
if not (m and props(m[0]).get("buttonType") == "0" and
        m[4].find("triggers/trigger/condition").text == "RISE"):
    missing.append("a panic push button that sends on the press")
if "/fxd/morph" not in sent:
    missing.append("the morph fader")
meters = [props(n).get("name") for n, par in faders
          if props(n).get("interactive") == "0" and par == "/meters"]
if sorted(meters) != ["peak1", "peak2", "rms1", "rms2"] or \
        "/fxd/meters" not in script_paths or "/fxd/meters" not in namespace:
    missing.append("meters peak1 rms1 peak2 rms2 fed from /fxd/meters "
                   "(have %s)" % meters)
gr = [n for n, par in faders if props(n).get("interactive") == "0" and
      props(n).get("name") == "gr" and par == "/comp"]
if len(gr) != 1 or "/fx/comp/gr" not in script_paths:
    missing.append("the compressor's gain reduction bar fed from /fx/comp/gr")
tuners = [n for n, par in all_nodes if n.get("type") == "LABEL" and
          props(n).get("name") == "tuner"]
if len(tuners) != 1 or not {"/fx/tuner/note", "/fx/tuner/cents",
                            "/fx/tuner/level"} <= script_paths:
    missing.append("the tuner's reading, set from /fx/tuner/note, cents "
                   "and level")
check(not missing, "slot names, a bypass per slot, mute, panic, morph, "
      "meters (/fxd/meters), comp's gain reduction (/fx/comp/gr) and the "
      "tuner's reading (/fx/tuner/...) are on the surface",
      ["missing " + w for w in missing])

# ---- 7: installed and shipped -------------------------------------------
am = read(os.path.join(top, "Makefile.am")).decode().replace("\\\n", " ")
assigned = {}
for var, op, rhs in re.findall(r"^([A-Za-z_]+)\s*(\+?=)(.*)$", am, re.M):
    assigned.setdefault(var, []).extend(rhs.split())
want = {"dist_touchosc_DATA": ["clients/touchosc/fxd.tosc",
                               "clients/touchosc/fxd-mk2.xml"],
        "EXTRA_DIST": ["clients/touchosc/build-mk2.py",
                       "tests/static/test_touchosc_mk2.sh"],
        "TESTS": ["tests/static/test_touchosc_mk2.sh"]}
absent = ["%s lacks %s" % (v, f) for v, fs in want.items() for f in fs
          if f not in assigned.get(v, [])]
check(not absent, "Makefile.am installs fxd.tosc and fxd-mk2.xml in "
      "$(pkgdatadir)/touchosc, ships build-mk2.py and runs this test", absent)

print("1..%d" % len(checks))
failed = 0
for i, (ok, what, notes) in enumerate(checks, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, what))
    if not ok:
        failed = 1
        for n in notes:
            print("# " + n)
sys.exit(failed)
PY
