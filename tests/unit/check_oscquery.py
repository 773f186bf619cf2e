# SPDX-License-Identifier: ISC
"""The OSCQuery tree (osc/oscquery.h) checked against fxd's own tables (TAP).

Drives tests/unit/oscquery_dump (an engine without JACK under a control
surface): asks it for the tables and the running chain (TABLES), then GETs
every node and attribute of the tree, and checks each against the tables:
for fxd's default chain, after values, bypass, mute and tempo change, and
after a chain swap. Every 200 answer must be one JSON text that Python's
json module reads; every other answer must be empty.

Usage: check_oscquery.py PATH/TO/oscquery_dump
"""
import json
import subprocess
import sys

HOST = {"name": "fxd-oscq-test", "osc-ip": "192.0.2.7", "osc-port": "9123",
        "ws-ip": "0.0.0.0", "ws-port": "8123", "feedback-hz": "25.5"}
OUTPUTS = 3
EXTENSIONS = {"ACCESS": True, "VALUE": True, "RANGE": True,
              "DESCRIPTION": True, "TAGS": False, "EXTENDED_TYPE": False,
              "UNIT": True, "CRITICAL": False, "CLIPMODE": True,
              "LISTEN": True, "PATH_CHANGED": True, "PATH_ADDED": False,
              "PATH_REMOVED": False, "PATH_RENAMED": False}
# Every attribute a query may name; those fxd never gives answer 204.
ATTRIBUTES = ["FULL_PATH", "CONTENTS", "TYPE", "VALUE", "RANGE", "ACCESS",
              "DESCRIPTION", "TAGS", "EXTENDED_TYPE", "UNIT", "CLIPMODE",
              "CRITICAL", "OVERLOADS", "HTML", "FXD_EFFECT", "FXD_INDEX",
              "FXD_SCALE", "FXD_DEFAULT", "FXD_ARGS"]
# What fxd sends to subscribers: readable nodes (stats is a method too).
OUTPUT_PATHS = ["/fxd/meters", "/fxd/counters", "/fxd/stats"]
SWAPPED = ("cheby1 type=highpass order=3 | lp:lowpass cutoff=5000 order=4 "
           "| g2:gain db=-3")


class Dump:
    def __init__(self, program):
        args = [program, "--outputs", str(OUTPUTS)]
        for k, v in HOST.items():
            args += ["--" + k, v]
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)

    def ask(self, line):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()
        head = self.p.stdout.readline().decode().split()
        if len(head) != 3 or head[0] != "==":
            raise RuntimeError("no answer to %r: %r" % (line, head))
        n = int(head[2])
        body = self.p.stdout.read(n).decode()
        self.p.stdout.read(1)
        return int(head[1]), body

    def command(self, line):
        status, body = self.ask(line)
        if status != 0:
            raise RuntimeError("%s: %s" % (line, body))
        return body

    def close(self):
        self.p.stdin.close()
        return self.p.wait()


class Checks:
    """One TAP test point per group of checks."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.errors = []

    def check(self, cond, what):
        if not cond:
            self.errors.append(what)
        return cond

    def eq(self, got, want, what):
        return self.check(got == want and type(got) is type(want),
                          "%s: got %r, want %r" % (what, got, want))

    def point(self, name):
        self.n += 1
        if self.errors:
            self.failed += 1
            print("not ok %d - %s" % (self.n, name))
            for e in self.errors[:20]:
                print("#   " + (e if len(e) < 400 else e[:400] + "..."))
            if len(self.errors) > 20:
                print("#   ... %d more" % (len(self.errors) - 20))
        else:
            print("ok %d - %s" % (self.n, name))
        self.errors = []


def get(dump, c, target, want_status=None):
    status, body = dump.ask("GET " + target)
    if want_status is not None:
        c.eq(status, want_status, "GET %s status" % target)
    if status == 200:
        try:
            return status, json.loads(body)
        except ValueError as e:
            c.check(False, "GET %s: not JSON (%s): %r" % (target, e, body))
            return status, None
    c.eq(body, "", "GET %s (%d) body" % (target, status))
    return status, None


def number(v, integer):
    return int(round(v)) if integer else float(v)


def same(a, b):
    """@p a, read from an answer, equals @p b, what is expected: where an
    int is expected an int (TYPE "i" values), where a float is expected
    any number (fx_json_number writes 0.0 as 0)."""
    if isinstance(b, float) and not isinstance(a, bool):
        return isinstance(a, (int, float)) and a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def expected_param(path, info, value, norm):
    """The node a parameter must be, from its table row."""
    if info["enum"]:
        typ = "s"
        val = info["labels"][int(value)]
        rng = [{"VALS": info["labels"]}]
        default = info["labels"][int(info["def"])]
    else:
        typ = "i" if info["integer"] else "f"
        val = number(value, info["integer"])
        rng = [{"MIN": number(info["min"], info["integer"]),
                "MAX": number(info["max"], info["integer"])}]
        default = number(info["def"], info["integer"])
    return {
        "FULL_PATH": path, "TYPE": typ, "VALUE": [val], "RANGE": rng,
        "ACCESS": 3, "UNIT": info["unit"], "CLIPMODE": "both",
        "DESCRIPTION": info["doc"], "FXD_SCALE": info["scale"],
        "FXD_DEFAULT": default,
        "CONTENTS": {"norm": {
            "FULL_PATH": path + "/norm", "TYPE": "f", "VALUE": [float(norm)],
            "RANGE": [{"MIN": 0, "MAX": 1}], "ACCESS": 3, "CLIPMODE": "both",
        }},
    }


def without(node, keys):
    return {k: v for k, v in node.items() if k not in keys}


def check_fx(dump, c, tables, tree):
    """Every slot, parameter, /norm twin and bypass against the tables."""
    slots = tables["slots"]
    fx = tree["CONTENTS"]["fx"]
    keys = [s["label"] or str(i) for i, s in enumerate(slots)]
    c.eq(fx["FULL_PATH"], "/fx", "/fx FULL_PATH")
    c.eq(list(fx["CONTENTS"]), keys, "/fx slots in chain order")
    for i, (key, slot) in enumerate(zip(keys, slots)):
        cls = tables["effects"][slot["effect"]]
        spath = "/fx/" + key
        node = fx["CONTENTS"].get(key, {})
        c.eq(without(node, ["CONTENTS"]), {
            "FULL_PATH": spath, "ACCESS": 0,
            "DESCRIPTION": "%s: %s" % (slot["effect"], cls["doc"]),
            "FXD_EFFECT": slot["effect"], "FXD_INDEX": i}, spath)
        names = [p["name"] for p in cls["params"]]
        outputs = cls.get("outputs", [])
        c.eq(list(node.get("CONTENTS", {})), names + ["bypass"] + outputs,
             spath + " CONTENTS")
        # Read-only outputs (a compressor's gr): ACCESS 1, a float.
        for name in outputs:
            out = node.get("CONTENTS", {}).get(name, {})
            c.check(out.get("FULL_PATH") == spath + "/" + name and
                    out.get("ACCESS") == 1 and out.get("TYPE") == "f",
                    "%s/%s: a read-only float output: %s" %
                    (spath, name, json.dumps(out)))
        for p, info in enumerate(cls["params"]):
            path = "%s/%s" % (spath, info["name"])
            want = expected_param(path, info, slot["values"][p],
                                  slot["norms"][p])
            got = node.get("CONTENTS", {}).get(info["name"])
            # The norm twin's DESCRIPTION is prose: present, not checked.
            norm = (got or {}).get("CONTENTS", {}).get("norm", {})
            c.check(isinstance(norm.pop("DESCRIPTION", None), str),
                    path + "/norm DESCRIPTION")
            c.check(same(got, want), "%s: got %s, want %s" %
                    (path, json.dumps(got), json.dumps(want)))
            c.check(0 <= slot["norms"][p] <= 1, path + "/norm in 0..1")
        bypass = node.get("CONTENTS", {}).get("bypass", {})
        c.check(isinstance(bypass.pop("DESCRIPTION", None), str),
                spath + "/bypass DESCRIPTION")
        c.check(same(bypass, {
            "FULL_PATH": spath + "/bypass", "TYPE": "i",
            "VALUE": [slot["bypass"]], "RANGE": [{"MIN": 0, "MAX": 1}],
            "ACCESS": 3, "CLIPMODE": "both", "FXD_SCALE": "toggle"}),
            spath + "/bypass: %s" % json.dumps(bypass))


def check_fxd(dump, c, tables, tree):
    """The method table, the daemon's values and its outputs."""
    fxd = tree["CONTENTS"]["fxd"]
    nodes = {}

    def walk(node):
        nodes[node["FULL_PATH"]] = node
        for child in node.get("CONTENTS", {}).values():
            walk(child)

    walk(fxd)
    methods = {m["path"]: m for m in tables["methods"]}
    for path, m in methods.items():
        node = nodes.get(path)
        if not c.check(node is not None, "no node for method " + path):
            continue
        access = 3 if path in ("/fxd/mute", "/fxd/bpm", "/fxd/stats") else 2
        c.eq(node.get("ACCESS"), access, path + " ACCESS")
        c.eq(node.get("DESCRIPTION"), m["doc"], path + " DESCRIPTION")
        c.eq(node.get("FXD_ARGS"), m["args"], path + " FXD_ARGS")
        fixed = m["args"] and "[" not in m["args"]
        if path not in ("/fxd/mute", "/fxd/bpm"):
            want = m["args"].replace("N", "f") if fixed else None
            c.eq(node.get("TYPE"), want, path + " TYPE")
    outputs = {p: nodes.get(p) for p in OUTPUT_PATHS}
    for path, node in outputs.items():
        if not c.check(node is not None, "no node for output " + path):
            continue
        c.check(isinstance(node.get("DESCRIPTION"), str)
                and node["DESCRIPTION"], path + " DESCRIPTION")
        if path not in methods:
            c.eq(node.get("ACCESS"), 1, path + " ACCESS")
            c.check("VALUE" not in node, path + " has no VALUE")
    c.eq(outputs["/fxd/meters"].get("TYPE"), "ff" * OUTPUTS,
         "/fxd/meters TYPE: a peak and an RMS an output port")
    c.eq(nodes["/fxd/mute"].get("TYPE"), "i", "/fxd/mute TYPE")
    c.eq(nodes["/fxd/mute"].get("VALUE"), [tables["muted"]], "/fxd/mute VALUE")
    c.eq(nodes["/fxd/mute"].get("RANGE"), [{"MIN": 0, "MAX": 1}],
         "/fxd/mute RANGE")
    c.eq(nodes["/fxd/bpm"].get("TYPE"), "f", "/fxd/bpm TYPE")
    c.eq(nodes["/fxd/bpm"].get("VALUE"), [float(tables["bpm"])],
         "/fxd/bpm VALUE")
    # Nothing else: the other nodes are containers of these.
    for path, node in nodes.items():
        if path in methods or path in outputs:
            continue
        c.check(set(node) - {"DESCRIPTION"} ==
                {"FULL_PATH", "ACCESS", "CONTENTS"} and
                node["ACCESS"] == 0 and node["CONTENTS"],
                "%s is neither a method, an output nor a container: %s"
                % (path, json.dumps(node)))
        c.check(any(m.startswith(path + "/") for m in methods),
                path + " contains no method")


def check_nodes(dump, c, tree):
    """Each node GET alone is its part of the whole tree, each attribute
    alone is {ATTR: value}, and an attribute a node lacks is 204."""
    count = 0

    def walk(node, path):
        nonlocal count
        count += 1
        c.eq(node.get("FULL_PATH"), path, "FULL_PATH of " + path)
        for k in node:
            c.check(k in ATTRIBUTES, "%s: unknown attribute %s" % (path, k))
        status, alone = get(dump, c, path, 200)
        c.check(same(alone, node), path + " alone differs from the tree")
        if path != "/":
            status, slash = get(dump, c, path + "/", 200)
            c.check(same(slash, node), path + "/ differs from " + path)
        for attr in ATTRIBUTES:
            if attr in node:
                status, one = get(dump, c, path + "?" + attr, 200)
                c.check(same(one, {attr: node[attr]}),
                        "%s?%s: %s" % (path, attr, json.dumps(one)))
            else:
                get(dump, c, path + "?" + attr, 204)
        get(dump, c, path + "?HOST_INFO", 200 if path == "/" else 400)
        for key, child in node.get("CONTENTS", {}).items():
            c.check(key and "/" not in key, "%s: key %r" % (path, key))
            walk(child, (path if path != "/" else "") + "/" + key)

    walk(tree, "/")
    return count


def check_state(dump, c, name):
    tables = json.loads(dump.command("TABLES"))
    status, tree = get(dump, c, "/", 200)
    if tree is None:
        c.point(name + ": GET / is JSON")
        return tables
    c.eq(tree.get("FULL_PATH"), "/", "/ FULL_PATH")
    c.eq(list(tree.get("CONTENTS", {})), ["fx", "fxd"], "/ CONTENTS")
    check_fx(dump, c, tables, json.loads(json.dumps(tree)))
    c.point(name + ": every slot, parameter, /norm twin and bypass "
            "against the tables")
    check_fxd(dump, c, tables, tree)
    c.point(name + ": /fxd methods (ACCESS 2, DESCRIPTION from the table), "
            "mute, bpm and outputs")
    n = check_nodes(dump, c, tree)
    c.point(name + ": each of %d nodes alone, with a trailing '/', and "
            "each attribute alone (200 or 204)" % n)
    return tables


def check_host_info(dump, c):
    status, info = get(dump, c, "/?HOST_INFO", 200)
    c.check(same(info, {
        "NAME": HOST["name"], "EXTENSIONS": EXTENSIONS,
        "OSC_IP": HOST["osc-ip"], "OSC_PORT": int(HOST["osc-port"]),
        "OSC_TRANSPORT": "UDP", "WS_IP": HOST["ws-ip"],
        "WS_PORT": int(HOST["ws-port"]),
        "FXD_FEEDBACK_HZ": float(HOST["feedback-hz"])}),
        "HOST_INFO: " + json.dumps(info))
    c.point("HOST_INFO holds what the host passed")


def check_statuses(dump, c, tables):
    slot = tables["slots"][0]["label"] or "0"
    param = "/fx/%s/%s" % (slot, tables["effects"][tables["slots"][0]
                                                   ["effect"]]["params"][0]
                           ["name"])
    for target in ["/nope", "/fx/nope", param + "/nope", param + "/norm/x",
                   "/fxd/nope", "/fx//" + slot, "fx", "", "/fx//",
                   "/fx/" + slot + "/bypass/norm", "/fxd/preset/nope"]:
        get(dump, c, target, 404)
    for target in [param + "?value", param + "?FOO", param + "?VALUE&x",
                   param + "?VALUE=1", param + "?HOST_INFO", "/fx?HOST_INFO",
                   "/fxd?HOST_INFO", "/?HOST_INFO=1", "/?LISTEN"]:
        get(dump, c, target, 400)
    for target in ["/fx?VALUE", "/fx/%s?VALUE" % slot, "/?RANGE",
                   param + "?TAGS", param + "/norm?UNIT",
                   "/fxd/ping?VALUE", "/fxd/meters?VALUE"]:
        get(dump, c, target, 204)
    status, empty = get(dump, c, param + "?", 200)
    status, none = get(dump, c, param, 200)
    c.check(same(empty, none), "an empty query is no query")
    c.point("statuses: 404 unknown paths, 400 bad queries and HOST_INFO "
            "off the root, 204 attributes a node lacks")


def main():
    dump = Dump(sys.argv[1])
    c = Checks()
    check_host_info(dump, c)
    tables = check_state(dump, c, "default chain")
    check_statuses(dump, c, tables)

    # Values, bypass, mute and tempo moved off their defaults.
    dump.command("SET vol db -6.5")
    dump.command("SET comp detect 1")
    dump.command("SET dly division 5")
    dump.command("SET hpf cutoff 123.25")
    dump.command("BYPASS dly 1")
    dump.command("MUTE 1")
    dump.command("BPM 133.5")
    tables = check_state(dump, c, "values changed")
    slots = {s["label"]: s for s in tables["slots"]}
    status, v = get(dump, c, "/fx/vol/db?VALUE", 200)
    c.check(same(v, {"VALUE": [-6.5]}), "/fx/vol/db?VALUE after a set: %r" % v)
    status, v = get(dump, c, "/fx/comp/detect?VALUE", 200)
    c.check(same(v, {"VALUE": ["rms"]}), "an enum's VALUE is its label: %r" % v)
    c.eq(slots["dly"]["bypass"], 1, "bypass set")
    status, v = get(dump, c, "/fxd/mute?VALUE", 200)
    c.check(same(v, {"VALUE": [1]}), "/fxd/mute?VALUE: %r" % v)
    status, v = get(dump, c, "/fxd/bpm?VALUE", 200)
    c.check(same(v, {"VALUE": [133.5]}), "/fxd/bpm?VALUE: %r" % v)
    c.point("values set through the control surface show in VALUE")

    # A swapped chain: new slots, an unlabelled one keyed by its index.
    dump.command("SWAP " + SWAPPED)
    tables = check_state(dump, c, "after a swap")
    c.eq([s["label"] for s in tables["slots"]], ["", "lp", "g2"],
         "the swapped chain runs")
    get(dump, c, "/fx/vol", 404)
    get(dump, c, "/fx/0/type", 200)
    c.point("after a swap the old slots are gone (404)")

    rc = dump.close()
    c.eq(rc, 0, "oscquery_dump exit status")
    c.point("oscquery_dump exits cleanly")
    print("1..%d" % c.n)
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
