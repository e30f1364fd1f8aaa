"""report.html as a reader sees it: rendered by headless Chromium (Debian's chromium, which
scripts/test.sh installs), every embedded plot decodes to the PNG's own size, the fixture banner
is on top and the pick table is on the page with one row per (shape, dtype, layout). Reports
skipped where no chromium is installed."""

import json
import os
import re
import shutil
import struct
import subprocess

import pytest

from conftest import FIXTURE

# Appended to a copy of the page: after load, what the browser made of it, as JSON in a <pre>
# that --dump-dom prints.
PROBE = """<script>
// An image decoded whole: drawn on a canvas (drawImage throws for one that could not be
// decoded at all), its last pixel row is opaque; a cut-short PNG decodes partly and leaves the
// rest transparent, and matplotlib's plots have an opaque background.
function decodedWhole(i) {
  try {
    var c = document.createElement("canvas");
    c.width = i.naturalWidth; c.height = i.naturalHeight;
    if (!i.complete || !c.width || !c.height) return false;
    var g = c.getContext("2d");
    g.drawImage(i, 0, 0);
    var row = g.getImageData(0, c.height - 1, c.width, 1).data;
    for (var k = 3; k < row.length; k += 4) if (row[k] !== 255) return false;
    return true;
  } catch (e) {
    return false;
  }
}
window.addEventListener("load", function () {
  function box(e) { var r = e.getBoundingClientRect(); return {top: r.top, height: r.height}; }
  var images = Array.prototype.map.call(document.images, function (i) {
    return {alt: i.alt, whole: decodedWhole(i), width: i.naturalWidth, height: i.naturalHeight,
            box: box(i)};
  });
  var tables = Array.prototype.map.call(document.querySelectorAll("table"), function (t) {
    return {header: Array.prototype.map.call(t.rows[0].cells, function (c) { return c.innerText; }),
            rows: t.rows.length - 1, box: box(t)};
  });
  var banner = document.querySelector(".fixture-banner");
  var h2 = document.querySelector("h2");
  var pre = document.createElement("pre");
  pre.id = "tconv-probe";
  pre.textContent = JSON.stringify({images: images, tables: tables,
      banner: banner ? {text: banner.innerText, box: box(banner)} : null,
      first_h2: h2 ? box(h2) : null,
      h2s: Array.prototype.map.call(document.querySelectorAll("h2"), function (e) {
        return e.innerText; })});
  document.body.appendChild(pre);
});
</script>"""


def chromium():
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.skip("chromium is not installed (scripts/test.sh installs Debian's chromium)")


def rendered(browser, page, tmp_path):
    probe = tmp_path / ("probe_" + os.path.basename(page))
    with open(page, encoding="utf-8") as f:
        text = f.read()
    assert text.count("</body>") == 1
    probe.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    for _ in range(3):  # a loaded machine can make the first start slow to settle
        res = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                              "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                              "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                             capture_output=True, text=True, timeout=180)
        m = re.search(r'<pre id="tconv-probe">(.*?)</pre>', res.stdout, re.S)
        if m:
            break
    assert m, f"chromium printed no probe (exit {res.returncode}): {res.stderr[-2000:]}"
    import html
    return json.loads(html.unescape(m.group(1)))


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_report_html_renders_every_plot_and_the_pick_table(tmp_path, run_script):
    browser = chromium()
    out = tmp_path / "report"
    res = run_script("report.py", FIXTURE, "--out", str(out))
    assert res.returncode == 0, res.stderr
    pngs = sorted(p for p in os.listdir(out) if p.endswith(".png"))
    assert pngs, "the report wrote no plot"
    seen = rendered(browser, str(out / "report.html"), tmp_path)

    assert len(seen["images"]) == len(pngs), seen["images"]
    sizes = sorted(png_size(out / p) for p in pngs)
    for img in seen["images"]:
        assert img["whole"] and img["box"]["height"] > 0, img
    assert sorted((i["width"], i["height"]) for i in seen["images"]) == sizes

    picks = [t for t in seen["tables"]
             if t["header"][:6] == ["shape", "dtype", "layout", "pick", "ms", "vs best baseline"]]
    assert len(picks) == 1, [t["header"] for t in seen["tables"]]
    with open(FIXTURE, encoding="utf-8") as f:
        import csv
        groups = {(r["suite"], r["shape"], r["dtype"], r["layout"]) for r in csv.DictReader(f)}
    assert picks[0]["rows"] == len(groups) and picks[0]["box"]["height"] > 0
    # The default-choice table: one row per default-choice row of the fixture, drawn.
    defaults = [t for t in seen["tables"] if t["header"][:4] == ["shape", "dtype", "layout",
                                                                 "default"]]
    assert len(defaults) == 1, [t["header"] for t in seen["tables"]]
    import tconv_results as tr
    with open(FIXTURE, encoding="utf-8") as f:
        n_default = sum(r["impl"] in tr.DEFAULT_CHOICE_IMPLS and r["status"] == "passed"
                        for r in csv.DictReader(f))
    assert n_default > 0 and defaults[0]["rows"] == n_default
    assert "break-even calls" in defaults[0]["header"] and defaults[0]["box"]["height"] > 0

    # A roofline per dtype of the fixture, drawn whole (the loop above) under its own heading.
    with open(FIXTURE, encoding="utf-8") as f:
        dtypes = {r["dtype"] for r in csv.DictReader(f) if r["status"] == "passed"}
    roofs = sorted(i["alt"] for i in seen["images"] if i["alt"].startswith("roofline, "))
    assert roofs == sorted(f"roofline, {t}" for t in dtypes), roofs
    assert "Roofline" in seen["h2s"], seen["h2s"]

    # The fixture's banner is shown, above the first section.
    assert seen["banner"] and "NOT A MEASUREMENT" in seen["banner"]["text"]
    assert seen["banner"]["box"]["height"] > 0
    assert seen["banner"]["box"]["top"] < seen["first_h2"]["top"]


def test_the_browser_check_sees_a_broken_plot(tmp_path, run_script):
    """The check itself: a page whose first plot's data is cut short is seen as not decoded."""
    browser = chromium()
    out = tmp_path / "report"
    res = run_script("report.py", FIXTURE, "--out", str(out))
    assert res.returncode == 0, res.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    start = page.index("data:image/png;base64,") + len("data:image/png;base64,")
    broken = tmp_path / "broken.html"
    broken.write_text(page[:start + 200] + page[page.index('"', start):], encoding="utf-8")
    seen = rendered(browser, str(broken), tmp_path)
    assert not seen["images"][0]["whole"], seen["images"][0]
    assert all(i["whole"] for i in seen["images"][1:])
