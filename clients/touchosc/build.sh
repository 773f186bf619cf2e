#!/bin/sh
# SPDX-License-Identifier: ISC
# Builds fxd.touchosc, the layout TouchOSC (Mk1) loads: a zip archive that
# holds index.xml. Checks first that index.xml is well-formed and that the
# base64 attributes (name, text, osc_cs) decode. The archive is byte-for-byte
# reproducible (fixed timestamp), so a rebuild shows no change in git.
# Usage: clients/touchosc/build.sh [OUT] (default: fxd.touchosc beside it)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/fxd.touchosc}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" - "$here/index.xml" "$out" <<'PY'
import base64, binascii, os, sys, zipfile
import xml.etree.ElementTree as ET

src, out = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
try:
    root = ET.fromstring(data)
except ET.ParseError as e:
    sys.exit("%s: %s" % (src, e))
if root.tag != "layout" or root.find("tabpage") is None:
    sys.exit("%s: expected <layout> holding <tabpage>s" % src)
controls = 0
for el in root.iter():
    controls += el.tag == "control"
    for key in ("name", "text", "osc_cs"):
        if key in el.attrib:
            try:
                base64.b64decode(el.attrib[key], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                sys.exit("%s: <%s %s=\"%s\"> is not base64"
                         % (src, el.tag, key, el.attrib[key]))
info = zipfile.ZipInfo("index.xml", date_time=(2000, 1, 1, 0, 0, 0))
info.compress_type = zipfile.ZIP_DEFLATED
info.external_attr = 0o644 << 16
with zipfile.ZipFile(out + ".tmp", "w") as z:
    z.writestr(info, data)
os.replace(out + ".tmp", out)
print("wrote %s (%d controls)" % (out, controls))
PY
