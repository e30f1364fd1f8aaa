"""scripts/compare.py: speedups and geometric means on the fixture, checked against values
computed here independently, and one-line errors."""

import math
import re

import pytest

from conftest import FIXTURE, assert_one_line_error, fixture_columns, read_rows, write_rows


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def md_section(text, title):
    """Rows (lists of cells) of the first markdown table under '## title'."""
    m = re.search(r"^## " + re.escape(title) + r"\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m, title
    rows = [ln for ln in m.group(1).splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in rows[2:]]


def make_b(tmp_path):
    """B = the fixture with each passed time divided by a known per-row factor (so the speedup
    A/B of that row is the factor), one row dropped and one passed row turned skipped."""
    rows = read_rows(FIXTURE)
    expected, only_a = {}, set()
    b_rows = []
    passed_i = 0
    for r in rows:
        key = (r["suite"], r["shape"], r["dtype"], r["layout"], r["impl"])
        r = dict(r)
        if r["status"] == "passed":
            passed_i += 1
            if passed_i == 3:  # dropped from B
                only_a.add(key)
                continue
            if passed_i == 5:  # skipped in B
                r["status"], r["reason"], r["time_ms_median"] = "skipped", "error: test", ""
                only_a.add(key)
                b_rows.append(r)
                continue
            factor = 0.5 + 0.25 * (passed_i % 7)
            r["time_ms_median"] = repr(float(r["time_ms_median"]) / factor)
            expected[key] = factor
        b_rows.append(r)
    path = tmp_path / "b.csv"
    write_rows(path, b_rows, fixture_columns())
    return path, expected, only_a


def test_two_files_speedups_and_geomeans(run_script, tmp_path):
    b, expected, only_a = make_b(tmp_path)
    import compare
    text, matched = compare.compare_files(FIXTURE, str(b), None, "time_ms_median")

    got = {(k["suite"], k["shape"], k["dtype"], k["layout"], k["impl"]): s
           for k, _, _, s in matched}
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, rel=1e-9), k

    # Geometric means per impl and per dtype, from the expected factors alone.
    per_impl, per_dtype = {}, {}
    for (suite, shape, dtype, layout, impl), v in expected.items():
        per_impl.setdefault(impl, []).append(v)
        per_dtype.setdefault(dtype, []).append(v)
    table = {r[0]: r for r in md_section(text, "Geometric mean per implementation")}
    assert set(table) == set(per_impl)
    for impl, vals in per_impl.items():
        assert int(table[impl][1]) == len(vals)
        assert float(table[impl][2]) == pytest.approx(geomean(vals), abs=6e-4)
        assert float(table[impl][3]) == pytest.approx(min(vals), abs=6e-4)
        assert float(table[impl][4]) == pytest.approx(max(vals), abs=6e-4)
        assert int(table[impl][5]) == sum(1 for v in vals if v > 1)
    table = {r[0]: r for r in md_section(text, "Geometric mean per dtype")}
    assert set(table) == set(per_dtype)
    for dtype, vals in per_dtype.items():
        assert float(table[dtype][2]) == pytest.approx(geomean(vals), abs=6e-4)
    overall = re.search(r"geometric mean speedup ([0-9.]+)", text).group(1)
    assert float(overall) == pytest.approx(geomean(list(expected.values())), abs=6e-4)

    # Per-shape table: one row per match, speedup column = the factor.
    per_shape = md_section(text, "Per shape")
    assert len(per_shape) == len(expected)
    for r in per_shape:
        assert float(r[-1]) == pytest.approx(expected[tuple(r[:5])], abs=6e-4)

    # Passed in only one file.
    only = md_section(text, "Passed in only one file")
    assert {tuple(r[:5]) for r in only} == only_a
    assert all(r[5] == "A only" for r in only)
    assert any("skipped" in r[6] for r in only) and any("no row in B" in r[6] for r in only)

    # The direction is stated.
    assert "> 1 means B is faster" in text

    # The command line writes the same markdown to --out.
    out = tmp_path / "t.md"
    res = run_script("compare.py", FIXTURE, str(b), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert out.read_text() == text


def test_impl_mode_best_of_regex():
    import compare
    text, matched = compare.compare_impls([FIXTURE], "^cudnn", "^phase_gemm$", True, None,
                                          "time_ms_median")
    base, mine = {}, {}
    for r in read_rows(FIXTURE):
        if r["status"] != "passed":
            continue
        key = (r["suite"], r["shape"], r["dtype"], r["layout"])
        t = float(r["time_ms_median"])
        if r["impl"].startswith("cudnn"):
            if t < base.get(key, (math.inf, ""))[0]:
                base[key] = (t, r["impl"])
        elif r["impl"] == "phase_gemm":
            mine[key] = t
    expected = {k: base[k][0] / mine[k] for k in base if k in mine}
    got = {(k["suite"], k["shape"], k["dtype"], k["layout"]): (s, k["impl_a"])
           for k, _, _, s in matched}
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert got[k][0] == pytest.approx(v, rel=1e-9)
        assert got[k][1] == base[k][1]
    per_dtype = {}
    for k, v in expected.items():
        per_dtype.setdefault(k[2], []).append(v)
    table = {r[0]: r for r in md_section(text, "Geometric mean per dtype")}
    for dtype, vals in per_dtype.items():
        assert float(table[dtype][2]) == pytest.approx(geomean(vals), abs=6e-4)
    # Shapes where only B passed (no passed cudnn row) are listed with A's statuses.
    only = md_section(text, "Passed on only one side")
    only_keys = {tuple(r[:4]) for r in only}
    assert only_keys == (set(mine) - set(base)) | (set(base) - set(mine))
    assert only_keys  # the fixture has such a shape


def test_impl_mode_exact_names():
    import compare
    _, matched = compare.compare_impls([FIXTURE], "cudnn_find", "phase_gemm", False, None,
                                       "time_ms_min")
    a, b = {}, {}
    for r in read_rows(FIXTURE):
        if r["status"] == "passed":
            key = (r["suite"], r["shape"], r["dtype"], r["layout"])
            if r["impl"] == "cudnn_find":
                a[key] = float(r["time_ms_min"])
            if r["impl"] == "phase_gemm":
                b[key] = float(r["time_ms_min"])
    got = {(k["suite"], k["shape"], k["dtype"], k["layout"]): s for k, _, _, s in matched}
    assert got.keys() == set(a) & set(b)
    for k in got:
        assert got[k] == pytest.approx(a[k] / b[k], rel=1e-9)


def test_errors(run_script, tmp_path):
    res = run_script("compare.py", FIXTURE, str(tmp_path / "missing.csv"))
    assert_one_line_error(res, "missing.csv", "no such file")

    cols = [c for c in fixture_columns() if c != "time_ms_median"]
    bad = tmp_path / "no_time.csv"
    write_rows(bad, read_rows(FIXTURE), cols)
    res = run_script("compare.py", FIXTURE, str(bad))
    assert_one_line_error(res, "no_time.csv", "missing column", "time_ms_median")

    empty = tmp_path / "empty.csv"
    write_rows(empty, [], fixture_columns())
    res = run_script("compare.py", FIXTURE, str(empty))
    assert_one_line_error(res, "empty.csv", "no data rows")

    res = run_script("compare.py", FIXTURE)
    assert_one_line_error(res, "two")
    res = run_script("compare.py", FIXTURE, "--impl-a", "no_such_impl", "--impl-b", "x")
    assert_one_line_error(res, "no_such_impl")
    res = run_script("compare.py", FIXTURE, "--impl-a", "(", "--impl-b", "x", "--best-of-regex")
    assert_one_line_error(res, "regular expression")
    res = run_script("compare.py", FIXTURE, FIXTURE, "--key", "suite,nonexistent")
    assert_one_line_error(res, "nonexistent")
