"""Numbers that are not measurements say so: when any input row's gpu column names a fixture,
report.md, report.html and every plot (plot.py's and the report's) carry a banner at the top;
rows from a named GPU get none."""

import csv
import os

import pytest

from conftest import FIXTURE, read_rows, write_rows

BANNER = "FIXTURE, NOT A MEASUREMENT"


def red_stripe_on_top(png):
    """Whether the top of the image holds the banner's white-on-red stripe."""
    import matplotlib.image as mpimg

    a = mpimg.imread(png)
    top = a[: max(3, a.shape[0] // 10), :, :3]
    red = (top[..., 0] > 0.7) & (top[..., 1] < 0.15) & (top[..., 2] < 0.15)
    return red.mean() > 0.2


def with_gpu(tmp_path, name, gpu_of):
    rows = read_rows(FIXTURE)
    with open(FIXTURE, newline="", encoding="utf-8") as f:
        columns = next(csv.reader(f))
    for i, r in enumerate(rows):
        r["gpu"] = gpu_of(i)
    path = tmp_path / name
    write_rows(path, rows, columns)
    return str(path), len(rows)


def pngs(folder):
    return sorted(os.path.join(folder, p) for p in os.listdir(folder) if p.endswith(".png"))


def test_report_and_plots_of_a_fixture_carry_the_banner(tmp_path, run_script):
    res = run_script("report.py", FIXTURE, "--out", str(tmp_path / "r"))
    assert res.returncode == 0, res.stderr
    md = (tmp_path / "r" / "report.md").read_text().splitlines()
    assert md[0].startswith("# ") and BANNER in md[2], md[:4]
    page = (tmp_path / "r" / "report.html").read_text()
    assert 'class="fixture-banner"' in page
    assert page.index('class="fixture-banner"') < page.index("<h2>")
    assert pngs(tmp_path / "r")
    for p in pngs(tmp_path / "r"):
        assert red_stripe_on_top(p), p
    res = run_script("plot.py", FIXTURE, "--out", str(tmp_path / "p"))
    assert res.returncode == 0, res.stderr
    assert len(pngs(tmp_path / "p")) >= 4
    for p in pngs(tmp_path / "p"):
        assert red_stripe_on_top(p), p


def test_one_fixture_row_among_measurements_is_enough(tmp_path, run_script):
    path, n = with_gpu(tmp_path, "mixed.csv", lambda i: "FIXTURE" if i == 0 else "NVIDIA H100 80GB HBM3")
    res = run_script("report.py", path, "--out", str(tmp_path / "r"))
    assert res.returncode == 0, res.stderr
    md = (tmp_path / "r" / "report.md").read_text()
    assert f"{BANNER}: 1 of {n} rows" in md


def test_rows_from_a_named_gpu_get_no_banner(tmp_path, run_script):
    path, _ = with_gpu(tmp_path, "gpu.csv", lambda i: "NVIDIA H100 80GB HBM3")
    res = run_script("report.py", path, "--out", str(tmp_path / "r"))
    assert res.returncode == 0, res.stderr
    assert BANNER not in (tmp_path / "r" / "report.md").read_text()
    assert "fixture-banner" not in (tmp_path / "r" / "report.html").read_text()
    res = run_script("plot.py", path, "--out", str(tmp_path / "p"))
    assert res.returncode == 0, res.stderr
    for p in pngs(tmp_path / "r") + pngs(tmp_path / "p"):
        assert not red_stripe_on_top(p), p


def test_the_banner_never_covers_a_title(tmp_path, monkeypatch):
    """Every figure report.py and plot.py draw from the fixture: once stamped, the banner's box
    overlaps no title (the axes' titles, two lines with the GPU note, and any figure title)."""
    import matplotlib

    matplotlib.use("Agg")
    import plot
    import report
    import tconv_results as tr

    stamp = tr.stamp_fixture_banner
    checked = []

    def stamp_and_check(fig, banner):
        stamp(fig, banner)
        fig.canvas.draw()
        box = fig.texts[-1].get_bbox_patch().get_window_extent()
        titles = [t for ax in fig.axes for t in (ax.title, ax._left_title, ax._right_title)
                  if t.get_text()] + [t for t in fig.texts[:-1] if t.get_text()]
        assert titles, "a figure without a title"
        for t in titles:
            assert not box.overlaps(t.get_window_extent()), (t.get_text(), box, t.get_window_extent())
        checked.append(titles[0].get_text())

    monkeypatch.setattr(tr, "stamp_fixture_banner", stamp_and_check)
    assert report.main([FIXTURE, "--out", str(tmp_path / "r")]) == 0
    assert plot.main([FIXTURE, "--out", str(tmp_path / "p")]) == 0
    assert len(checked) == len(pngs(tmp_path / "r")) + len(pngs(tmp_path / "p")), checked
    assert any(c.startswith("speedup, fp32") for c in checked)
    assert any(c.startswith("roofline, fp16") for c in checked)
