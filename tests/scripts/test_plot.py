"""scripts/plot.py: the expected PNG files from the fixture and from a C matrix, the headline
speedups, and one-line errors."""

import math
import os
import re

import numpy as np
import pytest

from conftest import FIXTURE, assert_one_line_error, fixture_columns, read_rows, write_rows

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    assert os.path.isfile(path), path
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == PNG_MAGIC, path
    assert len(data) > 2000, (path, len(data))
    import matplotlib.image as mpimg
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50, (path, img.shape)


def safe(s):
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-")


def expected_files(rows, baseline=re.compile("^cudnn")):
    """The file names plot.py should write for these rows, derived from the data alone."""
    names = set()
    for r in rows:
        names.add(f"bars_{safe(r['suite'])}_{safe(r['dtype'])}_{safe(r['layout'])}.png")
        names.add(f"roofline_{safe(r['dtype'])}.png")
        if r["suite"].startswith("sweep"):
            names.add(f"sweep_{safe(r['suite'])}_{safe(r['dtype'])}_{safe(r['layout'])}.png")
        if r["status"] == "passed" and baseline.search(r["impl"]):
            names.add(f"headline_{safe(r['dtype'])}_{safe(r['layout'])}.png")
    return names


def test_fixture_plots(run_script, tmp_path):
    out = tmp_path / "plots"
    res = run_script("plot.py", FIXTURE, "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    expected = expected_files(read_rows(FIXTURE))
    # Sanity of the fixture itself: all four kinds of plot are exercised.
    for prefix in ("bars_", "roofline_", "sweep_", "headline_"):
        assert any(n.startswith(prefix) for n in expected), prefix
    written = {os.path.basename(p) for p in res.stdout.split()}
    assert written == expected
    assert set(os.listdir(out)) == expected
    for name in expected:
        assert_png(out / name)


def test_c_matrix_npy_and_csv(run_script, tmp_path):
    # C of a 1-D transposed convolution (k=3, stride 2, 4 inputs): rows = outputs, cols = inputs.
    k, s, n_in = 3, 2, 4
    n_out = (n_in - 1) * s + k
    c = np.zeros((n_out, n_in))
    for i in range(n_in):
        for t in range(k):
            c[i * s + t, i] = 1.0 + t
    np.save(tmp_path / "C.npy", c)
    np.savetxt(tmp_path / "Ccsv.csv", c, delimiter=",")
    out = tmp_path / "cplots"
    res = run_script("plot.py", "--c-matrix", str(tmp_path / "C.npy"),
                     "--c-matrix", str(tmp_path / "Ccsv.csv"), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(out)) == ["cmatrix_C.png", "cmatrix_Ccsv.png"]
    for name in os.listdir(out):
        assert_png(out / name)


def test_c_matrix_block_reduction_keeps_every_nonzero():
    import plot
    rng = np.random.default_rng(3)
    mask = rng.random((1000, 777)) < 0.002
    img, fr, fk = plot.block_any(mask, 100, 100)
    assert img.shape[0] <= 100 and img.shape[1] <= 100 and fr > 1 and fk > 1
    for r, c in zip(*np.nonzero(mask)):
        assert img[r // fr, c // fk]
    # and no block is dark without a nonzero in it
    assert img.sum() <= mask.sum()


def test_c_matrix_bad_input(run_script, tmp_path):
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    res = run_script("plot.py", "--c-matrix", str(tmp_path / "cube.npy"), "--out",
                     str(tmp_path / "o"))
    assert_one_line_error(res, "2-D")
    res = run_script("plot.py", "--c-matrix", str(tmp_path / "missing.npy"))
    assert_one_line_error(res, "missing.npy", "no such file")


def test_headline_speedups_match_independent_computation():
    import plot
    import tconv_results as tr
    df = tr.load_results([FIXTURE], plot.REQUIRED_COLUMNS)
    got = plot.headline_speedups(df, re.compile("^cudnn"))

    # Independent: per (dtype, layout, suite, shape), best cudnn* time / each other impl's time.
    best_base, others = {}, {}
    for r in read_rows(FIXTURE):
        if r["status"] != "passed":
            continue
        key = (r["dtype"], r["layout"], r["suite"], r["shape"])
        t = float(r["time_ms_median"])
        if r["impl"].startswith("cudnn"):
            best_base[key] = min(t, best_base.get(key, math.inf))
        else:
            others.setdefault(key, {})[r["impl"]] = t
    expected = {}
    for key, impls in others.items():
        if key in best_base:
            for impl, t in impls.items():
                expected[key + (impl,)] = best_base[key] / t
    seen = {}
    for (dtype, layout), (shapes, _) in got.items():
        for label, base_impl, sp in shapes:
            assert base_impl.startswith("cudnn")
            suite, shape = label.split("/")
            for impl, v in sp.items():
                seen[(dtype, layout, suite, shape, impl)] = v
    assert seen.keys() == expected.keys()
    for k, v in expected.items():
        assert seen[k] == pytest.approx(v, rel=1e-12), k


def test_no_baseline_match_is_a_note_not_an_error(run_script, tmp_path):
    out = tmp_path / "p"
    res = run_script("plot.py", FIXTURE, "--out", str(out), "--baseline-regex", "^no_such_impl")
    assert res.returncode == 0, res.stderr
    assert "no headline plot" in res.stderr
    assert not [n for n in os.listdir(out) if n.startswith("headline_")]


def test_missing_file(run_script, tmp_path):
    res = run_script("plot.py", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o"))
    assert_one_line_error(res, "nope.csv", "no such file")
    assert not (tmp_path / "o").exists()


def test_missing_column(run_script, tmp_path):
    cols = [c for c in fixture_columns() if c != "gflops"]
    bad = tmp_path / "no_gflops.csv"
    write_rows(bad, read_rows(FIXTURE), cols)
    res = run_script("plot.py", str(bad), "--out", str(tmp_path / "o"))
    assert_one_line_error(res, "no_gflops.csv", "missing column", "gflops")


def test_empty_data(run_script, tmp_path):
    empty = tmp_path / "header_only.csv"
    write_rows(empty, [], fixture_columns())
    res = run_script("plot.py", str(empty), "--out", str(tmp_path / "o"))
    assert_one_line_error(res, "header_only.csv", "no data rows")
    blank = tmp_path / "blank.csv"
    blank.write_text("")
    res = run_script("plot.py", str(blank))
    assert_one_line_error(res, "blank.csv")


def test_no_passed_rows(run_script, tmp_path):
    rows = [r for r in read_rows(FIXTURE) if r["status"] != "passed"]
    f = tmp_path / "none_passed.csv"
    write_rows(f, rows, fixture_columns())
    res = run_script("plot.py", str(f), "--out", str(tmp_path / "o"))
    assert_one_line_error(res, "passed")


def test_bad_regex_and_nothing_to_do(run_script, tmp_path):
    res = run_script("plot.py", FIXTURE, "--baseline-regex", "(")
    assert_one_line_error(res, "--baseline-regex")
    res = run_script("plot.py")
    assert_one_line_error(res, "nothing to plot")


def test_colors_follow_sorted_names():
    import tconv_results as tr
    a = tr.impl_colors(["b_impl", "a_impl", "c_impl", "a_impl"])
    b = tr.impl_colors(["c_impl", "b_impl", "a_impl"])
    assert a == b
    assert len({tuple(v) for v in a.values()}) == 3
    many = tr.impl_colors([f"impl{i:02d}" for i in range(30)])
    assert len({tuple(v) for v in many.values()}) == 30


def test_roofline_derived_columns_without_extras():
    """Rows without flops/min_bytes extras get them from the problem fields (Problem formulas)."""
    import tconv_results as tr
    df = tr.load_results([FIXTURE], ["status"])
    with_extras = tr.add_derived(df.copy())
    stripped = df.drop(columns=["flops", "min_bytes"])
    derived = tr.add_derived(stripped)
    assert np.allclose(with_extras["ai"], derived["ai"], rtol=1e-12)
    assert np.allclose(with_extras["flops_calc"], derived["flops_calc"], rtol=1e-12)
