#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Builds fxd.tosc, the layout the current TouchOSC ("Mk2") loads, from
fxd-mk2.xml beside it.

A .tosc file is a zlib stream (not gzip, not zip) holding TouchOSC's XML:
<lexml version="3"> around one root GROUP <node>; each node has typed
<properties> (name, frame, colour, ...), <values> (x, touch, text) with
their defaults, <messages> (<osc> with its path and argument <partial>s)
and <children>. This writes what the TouchOSC editor writes for those
controls: the same properties, sorted by key, keys and strings in CDATA.

The output is byte-for-byte reproducible: node IDs are UUIDs derived from
the node's place in the layout, nothing holds a date, and the compression
level is fixed, so an unchanged source gives an unchanged file.

Usage: build-mk2.py [--xml] [OUT]   (default: fxd.tosc beside this script;
--xml writes the uncompressed XML instead, to read or diff)
"""
import os
import sys
import uuid
import xml.etree.ElementTree as ET
import zlib

LEXML_VERSION = "3"
ZLIB_LEVEL = 9
# TouchOSC 1.x offers five connections; a message uses all of them.
CONNECTIONS = "11111"
ID_NAMESPACE = uuid.UUID("6f1c3a52-3d0e-4f7e-9a55-0f7d2c1b8e01")

# BUTTON buttonType: momentary, toggle on release, toggle on press.
MOMENTARY, TOGGLE_PRESS = 0, 2
# FADER response: absolute (jumps to the touch) or relative (moves from
# where it is): relative, so touching a fader on stage never jumps a level.
RELATIVE = 1

MARGIN, GAP = 8, 8
HEADER_H = 56
CELL_W, CELL_GAP, PAD = 58, 4, 6
SLOT_TITLE_H, PARAM_LABEL_H, BYPASS_H = 36, 24, 50

WHITE = (1, 1, 1, 1)
BACKGROUND = (0.08, 0.08, 0.1, 1)
PANEL = (0.16, 0.16, 0.19, 1)
MUTE_COLOR = (0.85, 0.3, 0.3, 1)
PANIC_COLOR = (0.9, 0.15, 0.1, 1)
MORPH_COLOR = (0.85, 0.85, 0.85, 1)
METER_COLOR = (0.3, 0.85, 0.35, 1)


def fail(msg):
    sys.exit("build-mk2.py: %s" % msg)


# ---- XML text, written by hand: ElementTree cannot write CDATA -----------

def cdata(text):
    return "<![CDATA[" + str(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def num(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    s = "%.6g" % v
    return "0" if s == "-0" else s


def prop(ptype, key, value):
    if ptype == "r":
        body = "".join("<%s>%s</%s>" % (k, num(v), k)
                       for k, v in zip("xywh", value))
    elif ptype == "c":
        body = "".join("<%s>%s</%s>" % (k, num(v), k)
                       for k, v in zip("rgba", value))
    elif ptype == "s":
        body = cdata(value)
    else:
        body = num(value)
    return ("<property type='%s'><key>%s</key><value>%s</value></property>"
            % (ptype, cdata(key), body))


def value(key, default, locked_current=0):
    return ("<value><key>%s</key><locked>0</locked>"
            "<lockedDefaultCurrent>%d</lockedDefaultCurrent>"
            "<default>%s</default><defaultPull>0</defaultPull></value>"
            % (cdata(key), locked_current, cdata(default)))


def partial(ptype, conversion, val, lo=0, hi=1):
    return ("<partial><type>%s</type><conversion>%s</conversion>"
            "<value>%s</value><scaleMin>%s</scaleMin><scaleMax>%s</scaleMax>"
            "</partial>" % (ptype, conversion, cdata(val), num(lo), num(hi)))


def osc(path, conversion, send=True, receive=True, condition="ANY"):
    """One OSC message: value x, scaled 0..1, on a constant path. Feedback
    stays off: a value fxd sends back is shown, not sent again."""
    return ("<osc><enabled>1</enabled><send>%s</send><receive>%s</receive>"
            "<feedback>0</feedback><connections>%s</connections>"
            "<triggers><trigger><var>%s</var><condition>%s</condition>"
            "</trigger></triggers><path>%s</path><arguments>%s</arguments>"
            "</osc>" % (num(send), num(receive), CONNECTIONS, cdata("x"),
                        condition, partial("CONSTANT", "STRING", path),
                        partial("VALUE", conversion, "x")))


# ---- controls: the editor's properties for each type ----------------------

class Node:
    def __init__(self, ntype, name, frame, props, values, messages=(),
                 children=()):
        self.ntype, self.name, self.frame = ntype, name, frame
        self.props = props
        self.values = values
        self.messages = list(messages)
        self.children = list(children)

    def xml(self, parent_path=""):
        path = parent_path + "/" + self.name
        props = dict(self.props)
        props["name"] = ("s", self.name)
        props["frame"] = ("r", self.frame)
        out = ["<node ID='%s' type='%s'><properties>"
               % (uuid.uuid5(ID_NAMESPACE, path), self.ntype)]
        out += [prop(t, k, v) for k, (t, v) in sorted(props.items())]
        out.append("</properties><values>")
        out += self.values
        out.append("</values>")
        if self.messages:
            out.append("<messages>%s</messages>" % "".join(self.messages))
        if self.children:
            names = [c.name for c in self.children]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                # Names make the IDs, and TouchOSC's scripts find by name.
                fail("%s holds two controls named %s" % (path, dup[0]))
            out.append("<children>")
            out += [c.xml(path) for c in self.children]
            out.append("</children>")
        out.append("</node>")
        return "".join(out)


def common(color, interactive, outline=True):
    return {
        "background": ("b", True), "color": ("c", color),
        "cornerRadius": ("f", 1), "grabFocus": ("b", interactive),
        "interactive": ("b", interactive), "locked": ("b", False),
        "orientation": ("i", 0), "outline": ("b", outline),
        "outlineStyle": ("i", 1 if interactive else 0),
        "pointerPriority": ("i", 0), "shape": ("i", 1),
        "visible": ("b", True),
    }


def group(name, frame, color, children, background=True, script=None):
    props = common(color, False)
    props["background"] = ("b", background)
    props["outline"] = ("b", False)
    if script is not None:
        props["script"] = ("s", script)
    return Node("GROUP", name, frame, props, [value("touch", "false")],
                children=children)


def label(name, frame, text, size=14, color=(0, 0, 0, 0), align=2):
    props = common(color, False, outline=False)
    props.update({
        "font": ("i", 0), "textAlignH": ("i", align), "textAlignV": ("i", 2),
        "textClip": ("b", True), "textColor": ("c", WHITE),
        "textLength": ("i", 0), "textSize": ("i", size),
    })
    return Node("LABEL", name, frame, props,
                [value("text", text, 1), value("touch", "false")])


def fader(name, frame, color, default, message, interactive=True):
    props = common(color, interactive)
    props.update({
        "bar": ("b", True), "barDisplay": ("i", 0), "cursor": ("b", True),
        "cursorDisplay": ("i", 0), "grid": ("b", interactive),
        "gridSteps": ("i", 10),
        "response": ("i", RELATIVE if interactive else 0),
        "responseFactor": ("i", 100),
    })
    if not interactive:
        props["cursor"] = ("b", False)
    return Node("FADER", name, frame, props,
                [value("x", num(default)), value("touch", "false")],
                [message] if message else [])


def button(name, frame, color, button_type, message):
    props = common(color, True)
    props.update({
        "buttonType": ("i", button_type), "press": ("b", True),
        "release": ("b", True), "valuePosition": ("b", False),
    })
    return Node("BUTTON", name, frame, props,
                [value("x", "0"), value("touch", "false")], [message])


def labelled_button(name, frame, color, button_type, message, text, size):
    """A button with its caption on a label drawn over it (a label takes
    no touches, so the whole button stays live)."""
    return [button(name, frame, color, button_type, message),
            label(name + "_label", frame, text, size)]


# ---- the layout -----------------------------------------------------------

def color_attr(el):
    try:
        c = tuple(float(v) for v in el.get("color", "").split())
    except ValueError:
        c = ()
    if len(c) != 3:
        fail("<slot label=\"%s\">: color is three numbers 0..1"
             % el.get("label"))
    return c + (1,)


def build_slot(el, x, y, h):
    lbl, effect = el.get("label"), el.get("effect")
    if not lbl or not effect:
        fail("<slot> needs label and effect")
    col = color_attr(el)
    faders = el.findall("fader")
    readouts = el.findall("readout")
    if not faders:
        fail("<slot label=\"%s\">: no <fader>" % lbl)
    cells = len(faders) + len(readouts)
    w = cells * CELL_W + (cells - 1) * CELL_GAP + 2 * PAD
    # The slot's name, and its effect in small type under it.
    kids = [label("title", (0, 0, w, SLOT_TITLE_H), "", 10,
                  col[:3] + (0.35,)),
            label("slot", (0, 0, w, 22), lbl, 16),
            label("effect", (0, 22, w, SLOT_TITLE_H - 22), effect, 10)]
    fader_y = SLOT_TITLE_H + 4 + PARAM_LABEL_H
    fader_h = h - fader_y - BYPASS_H - 2 * 6
    for i, f in enumerate(faders):
        param = f.get("param")
        if not param:
            fail("<slot label=\"%s\">: <fader> needs param" % lbl)
        try:
            default = float(f.get("default", "0"))
        except ValueError:
            fail("%s/%s: default is a number 0..1" % (lbl, param))
        if not 0 <= default <= 1:
            fail("%s/%s: default is a number 0..1" % (lbl, param))
        fx = PAD + i * (CELL_W + CELL_GAP)
        kids.append(label(param + "_label",
                          (fx, SLOT_TITLE_H + 4, CELL_W, PARAM_LABEL_H),
                          f.get("text", param), 12))
        kids.append(fader(param, (fx, fader_y, CELL_W, fader_h), col, default,
                          osc("/fx/%s/%s/norm" % (lbl, param), "FLOAT")))
    # Read-only outputs after the faders: bars the layout's script moves
    # (fxd sends /fx/LABEL/NAME ,f in the output's own units).
    for i, r in enumerate(readouts, len(faders)):
        name = r.get("name")
        if not name:
            fail("<slot label=\"%s\">: <readout> needs name" % lbl)
        fx = PAD + i * (CELL_W + CELL_GAP)
        kids.append(label(name + "_label",
                          (fx, SLOT_TITLE_H + 4, CELL_W, PARAM_LABEL_H),
                          r.get("text", name), 12))
        kids.append(fader(name, (fx, fader_y, CELL_W, fader_h), METER_COLOR,
                          0, None, interactive=False))
    kids += labelled_button("bypass", (PAD, h - BYPASS_H - 6, w - 2 * PAD,
                                       BYPASS_H), col, TOGGLE_PRESS,
                            osc("/fx/%s/bypass" % lbl, "INTEGER"),
                            "bypass", 14)
    return group(lbl, (x, y, w, h), PANEL, kids), w


def build(src):
    try:
        root = ET.parse(src).getroot()
    except (OSError, ET.ParseError) as e:
        fail("%s: %s" % (src, e))
    if root.tag != "surface":
        fail("%s: expected <surface>" % src)
    W, H = int(root.get("width", "1024")), int(root.get("height", "768"))
    body_y = MARGIN + HEADER_H + GAP
    body_h = H - body_y - MARGIN

    kids, x = [], MARGIN
    for el in root.findall("slot"):
        node, w = build_slot(el, x, body_y, body_h)
        kids.append(node)
        x += w + GAP
    if not kids:
        fail("%s: no <slot>" % src)

    # Right of the strips: the morph fader, then the meters.
    morph = root.find("morph")
    if morph is not None:
        w = CELL_W + 2 * PAD
        fader_y = SLOT_TITLE_H + 4
        kids.append(group("morph", (x, body_y, w, body_h), PANEL, [
            label("title", (0, 0, w, SLOT_TITLE_H),
                  morph.get("text", "morph"), 13),
            fader("position", (PAD, fader_y, CELL_W,
                               body_h - fader_y - 6), MORPH_COLOR, 0,
                  osc(morph.get("path"), "FLOAT")),
        ]))
        x += w + GAP

    meters = root.find("meters")
    if meters is not None:
        channels = int(meters.get("channels", "2"))
        w = W - MARGIN - x
        bar_w = (w - 2 * PAD - (2 * channels - 1) * CELL_GAP) // (2 * channels)
        bars = [label("title", (0, 0, w, 22), "out", 13),
                label("kinds", (0, 22, w, SLOT_TITLE_H - 22),
                      "peak | rms", 9)]
        for c in range(channels):
            bars.append(label("out%d" % (c + 1),
                              (PAD + 2 * c * (bar_w + CELL_GAP),
                               SLOT_TITLE_H + 4, 2 * bar_w + CELL_GAP,
                               PARAM_LABEL_H), str(c + 1), 12))
            for k, kind in enumerate(("peak", "rms")):
                bx = PAD + (2 * c + k) * (bar_w + CELL_GAP)
                fy = SLOT_TITLE_H + 4 + PARAM_LABEL_H
                bars.append(fader("%s%d" % (kind, c + 1),
                                  (bx, fy, bar_w, body_h - fy - 6),
                                  METER_COLOR, 0, None, interactive=False))
        kids.append(group("meters", (x, body_y, w, body_h), PANEL, bars))
        x = W - MARGIN
    if x > W - MARGIN:
        fail("%s: the controls need %d px, the surface is %d wide"
             % (src, x + MARGIN, W))

    # The header: title, the tuner's reading, mute, panic.
    tuner = root.find("tuner")
    title_w = 290 if tuner is not None else 480
    kids.append(label("title", (MARGIN, MARGIN, title_w, HEADER_H),
                      root.get("title", "fxd"), 24, align=1))
    if tuner is not None:
        tx = MARGIN + title_w + GAP
        kids.append(label("tuner", (tx, MARGIN, W - MARGIN - 2 * 140 -
                                    2 * GAP - tx, HEADER_H),
                          tuner.get("text", "tuner: -"), 22,
                          PANEL))
    mute, panic = root.find("mute"), root.find("panic")
    if mute is not None:
        kids += labelled_button("mute", (W - MARGIN - 2 * 140 - GAP, MARGIN,
                                         140, HEADER_H), MUTE_COLOR,
                                TOGGLE_PRESS,
                                osc(mute.get("path"), "INTEGER"), "mute", 18)
    if panic is not None:
        # Only the press sends (1): fxd panics on a value of 0.5 or more.
        kids += labelled_button("panic", (W - MARGIN - 140, MARGIN, 140,
                                          HEADER_H), PANIC_COLOR, MOMENTARY,
                                osc(panic.get("path"), "FLOAT",
                                    receive=False, condition="RISE"),
                                "PANIC", 18)

    script = root.findtext("script")
    top = group(root.get("name", "fxd"), (0, 0, W, H), BACKGROUND, kids,
                script=script.strip() + "\n" if script else None)
    return ("<?xml version='1.0' encoding='UTF-8'?><lexml version='%s'>%s"
            "</lexml>" % (LEXML_VERSION, top.xml())).encode("utf-8")


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    args = argv[1:]
    raw = "--xml" in args
    args = [a for a in args if a != "--xml"]
    if len(args) > 1 or any(a.startswith("-") for a in args):
        sys.exit("usage: build-mk2.py [--xml] [OUT]")
    out = args[0] if args else os.path.join(here, "fxd.tosc")
    data = build(os.path.join(here, "fxd-mk2.xml"))
    if not raw:
        data = zlib.compress(data, ZLIB_LEVEL)
    with open(out + ".tmp", "wb") as f:
        f.write(data)
    os.replace(out + ".tmp", out)
    print("wrote %s (%d bytes)" % (out, len(data)))


if __name__ == "__main__":
    main(sys.argv)
