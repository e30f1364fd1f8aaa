"""scripts/peer_pytorch.py: its torch-free helpers (tolerance, statistics, shape loading, row
assembly, CSV writing) and its command line without torch."""

import csv
import math
import os
import subprocess
import sys

import pytest

from conftest import (FIXTURE, SCRIPTS, assert_one_line_error, fixture_columns, read_rows,
                      write_rows)

# The contract, spelled out here on purpose (docs/results-csv.md): the scripts must not be the
# only place it is written down.
CONTRACT = [
    "suite", "shape", "n", "c_in", "h_in", "w_in", "c_out", "k_h", "k_w",
    "stride_h", "stride_w", "pad_h", "pad_w", "out_pad_h", "out_pad_w", "dil_h", "dil_w",
    "groups", "h_out", "w_out", "dtype", "layout", "impl", "algo", "status", "reason",
    "time_ms_median", "time_ms_min", "time_ms_stddev", "reps", "gflops", "gbps", "work_ratio",
    "workspace_bytes", "max_abs_err", "rel_l2_err", "deterministic", "cache",
    "gpu", "sm_count", "sm_clock_mhz", "mem_clock_mhz", "driver", "cuda", "cublas", "cudnn",
    "commit", "timestamp",
]
FIELDS = CONTRACT[2:18]


def test_import_does_not_need_torch():
    code = ("import sys; sys.path.insert(0, %r); sys.modules['torch'] = None; "
            "import peer_pytorch, tconv_results; print('torch' in sys.modules and "
            "sys.modules['torch'] is not None)" % SCRIPTS)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_contract_columns_match():
    import peer_pytorch
    import tconv_results as tr
    assert tr.CONTRACT_COLUMNS == CONTRACT
    assert tr.PROBLEM_FIELDS == FIELDS
    assert peer_pytorch.columns()[:len(CONTRACT)] == CONTRACT
    # The fixture follows the contract too (and carries extras after it).
    assert fixture_columns()[:len(CONTRACT)] == CONTRACT


def test_tolerance_is_the_contracts():
    import peer_pytorch as pp
    # K = (c_in / groups) * max_taps * max_taps: 3 * 3 (k 3, stride 2, dil 2: every tap on one
    # residue) * 1 (k 2, stride 3) = 9, so fp32's bound is 1e-5 + 1e-6 * 3, under its 1e-4 cap.
    s = shape_dict()
    assert pp.tolerance("fp32", s) == pytest.approx(1.3e-5)
    assert pp.tolerance("fp32", shape_dict(c_in=200000, groups=1)) == 1e-4  # the cap
    assert pp.tolerance("tf32", s) == 3e-3
    assert pp.tolerance("fp16", s) == 5e-3
    assert pp.tolerance("bf16", s) == 1e-2
    with pytest.raises(ValueError):
        pp.tolerance("fp64x", s)


def test_verdict_judges_as_the_bench_does():
    import peer_pytorch as pp
    s = shape_dict()
    assert pp.verdict("fp32", s, 0.0, 0.0, 1.0, True) == ("passed", "full", "")
    # within the rel_l2 bound, but one pixel far off: the pointwise bound (10x) catches it
    status, acc, why = pp.verdict("fp32", s, 1e-5, 1e-2, 1.0, True)
    assert (status, acc) == ("incorrect", "") and "max_abs_err" in why
    # beyond the bound, within 10x: passed with reduced accuracy, and the reason says so
    status, acc, why = pp.verdict("fp32", s, 5e-5, 1e-5, 1.0, True)
    assert (status, acc) == ("passed", "reduced") and why.startswith("reduced accuracy")
    # a tf32-sized error fails fp32 and passes tf32
    assert pp.verdict("fp32", s, 1e-3, 1e-3, 1.0, True)[0] == "incorrect"
    assert pp.verdict("tf32", s, 1e-3, 1e-3, 1.0, True)[:2] == ("passed", "full")
    assert pp.verdict("bf16", s, 9e-3, 9e-3, 1.0, True)[:2] == ("passed", "full")
    assert pp.verdict("fp16", s, 9e-3, 9e-3, 1.0, True)[:2] == ("passed", "reduced")
    # NaN / Inf never pass
    assert pp.verdict("bf16", s, float("nan"), 0.0, 1.0, True)[0] == "incorrect"
    assert pp.verdict("bf16", s, 0.0, 0.0, 1.0, False)[0] == "incorrect"
    assert pp.verdict("bf16", s, float("inf"), 0.0, 1.0, True)[0] == "incorrect"


def test_a_bound_changed_in_the_contract_changes_the_peers_verdict(tmp_path, monkeypatch):
    import json

    import peer_pytorch as pp
    import tconv_results as tr
    s = shape_dict()
    assert pp.verdict("fp16", s, 4e-3, 4e-3, 1.0, True)[:2] == ("passed", "full")
    data = json.loads(json.dumps(tr.contract()))
    data["accuracy"]["dtypes"]["fp16"].update(base=1e-3, cap=1e-3)
    data["accuracy"]["reduced_precision_factor"] = 2
    path = tmp_path / "contract.json"
    path.write_text(json.dumps(data))
    monkeypatch.setenv("TCONV_CONTRACT", str(path))
    monkeypatch.setattr(tr, "_contract_cache", {})
    assert pp.tolerance("fp16", s) == 1e-3
    assert pp.verdict("fp16", s, 4e-3, 4e-3, 1.0, True)[:2] == ("incorrect", "")
    assert pp.verdict("fp16", s, 1.5e-3, 1.5e-3, 1.0, True)[:2] == ("passed", "reduced")


def test_time_stats():
    import peer_pytorch as pp
    med, mn, sd = pp.time_stats([4.0, 1.0, 3.0, 2.0])
    assert med == 2.5 and mn == 1.0
    assert sd == pytest.approx(math.sqrt(((1.5 ** 2 + 0.5 ** 2) * 2) / 3))
    assert pp.time_stats([0.7]) == (0.7, 0.7, 0.0)
    with pytest.raises(ValueError):
        pp.time_stats([])


def shape_dict(**kw):
    s = {"suite": "user", "shape": "a", "n": 2, "c_in": 6, "h_in": 5, "w_in": 7, "c_out": 4,
         "k_h": 3, "k_w": 2, "stride_h": 2, "stride_w": 3, "pad_h": 1, "pad_w": 0,
         "out_pad_h": 1, "out_pad_w": 2, "dil_h": 2, "dil_w": 1, "groups": 2, "bias": True}
    s.update(kw)
    return s


def test_make_row():
    import peer_pytorch as pp
    s = shape_dict()
    times = [0.5, 0.25, 1.0]
    row = pp.make_row(s, "fp16", "nhwc", "some_impl", "passed", times_ms=times,
                      max_abs_err=1e-3, rel_l2_err=2e-4, deterministic="yes", cache="cold",
                      workspace_bytes=1024, setup_ms=12.5,
                      context={"gpu": "G", "sm_count": 132, "cudnn": 91002, "torch": "2.x",
                               "impl": "must not override"})
    assert list(row) == pp.columns()
    assert pp.columns()[:len(CONTRACT)] == CONTRACT and pp.columns()[-1] == "torch"
    assert all(isinstance(v, str) for v in row.values())
    h_out = (5 - 1) * 2 - 2 * 1 + 2 * (3 - 1) + 1 + 1
    w_out = (7 - 1) * 3 - 2 * 0 + 1 * (2 - 1) + 2 + 1
    assert (int(row["h_out"]), int(row["w_out"])) == (h_out, w_out)
    flops = 2.0 * 2 * 6 * 5 * 7 * (4 // 2) * 3 * 2
    elems = 2 * 6 * 5 * 7 + 6 * 2 * 3 * 2 + 4 + 2 * 4 * h_out * w_out
    assert float(row["flops"]) == pytest.approx(flops)
    assert float(row["min_bytes"]) == pytest.approx(2 * elems)
    assert float(row["time_ms_median"]) == pytest.approx(0.5)
    assert float(row["time_ms_min"]) == pytest.approx(0.25)
    assert row["reps"] == "3"
    assert float(row["gflops"]) == pytest.approx(flops / 0.5e6, rel=1e-5)
    assert float(row["gbps"]) == pytest.approx(2 * elems / 0.5e6, rel=1e-5)
    assert row["impl"] == "some_impl" and row["gpu"] == "G" and row["cudnn"] == "91002"
    assert row["bias"] == "1" and row["setup_ms"] == "12.5" and row["workspace_bytes"] == "1024"
    assert float(row["tol_rel_l2"]) == pytest.approx(pp.tolerance("fp16", s))
    assert (row["pad_begin_h"], row["pad_end_h"], row["pad_end_w"]) == ("1", "0", "-2")
    assert row["count"] == "1"
    for f in FIELDS:
        assert row[f] == str(s[f])
    assert row["timestamp"].endswith("Z")

    skipped = pp.make_row(s, "fp32", "nchw", "x", "skipped", reason="out of memory, sorry")
    assert skipped["time_ms_median"] == "" and skipped["gflops"] == "" and skipped["reps"] == ""
    assert skipped["deterministic"] == "na" and skipped["tol_rel_l2"] == ""


def test_write_csv_round_trip(tmp_path):
    import peer_pytorch as pp
    rows = [pp.make_row(shape_dict(), "fp32", "nchw", "x", "skipped",
                        reason='a reason, with "quotes", and commas'),
            pp.make_row(shape_dict(shape="b"), "bf16", "nchw", "y", "passed", times_ms=[1.0])]
    path = tmp_path / "peer.csv"
    pp.write_csv(rows, str(path))
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    assert header == pp.columns()
    back = read_rows(path)
    assert back == rows
    assert [p for p in os.listdir(tmp_path) if p != "peer.csv"] == []  # no temp file left


def list_suites_csv(tmp_path):
    """A file in the format of `tconv_bench --list-suites --format csv`."""
    cols = ["suite", "shape"] + FIELDS + ["bias"]
    rows = [
        dict(zip(cols, ["s1", "a", 1, 16, 8, 8, 8, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1, 0])),
        dict(zip(cols, ["s1", "b", 2, 8, 5, 7, 4, 3, 2, 2, 3, 1, 0, 1, 2, 2, 1, 2, 1])),
        dict(zip(cols, ["s2", "c", 1, 4, 3, 3, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 4, "true"])),
        dict(zip(cols, ["s1", "a", 1, 16, 8, 8, 8, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1, 0])),  # dup
    ]
    path = tmp_path / "suites.csv"
    write_rows(path, rows, cols)
    return path


def test_load_shapes_from_list_suites_csv(tmp_path):
    import peer_pytorch as pp
    shapes = pp.load_shapes_file(str(list_suites_csv(tmp_path)))
    assert [(s["suite"], s["shape"], s["bias"]) for s in shapes] == [
        ("s1", "a", False), ("s1", "b", True), ("s2", "c", True)]
    assert shapes[1]["stride_w"] == 3 and shapes[1]["out_pad_w"] == 2 and shapes[1]["groups"] == 2
    assert all(isinstance(s[f], int) for s in shapes for f in FIELDS)
    assert [s["shape"] for s in pp.filter_suites(shapes, ["s2"])] == ["c"]
    assert pp.filter_suites(shapes, ["all"]) == shapes
    import tconv_results as tr
    with pytest.raises(tr.UserError, match="s3"):
        pp.filter_suites(shapes, ["s3"])
    # write_shapes_csv round-trips (the driver hands shapes to its workers this way)
    again = tmp_path / "again.csv"
    pp.write_shapes_csv(shapes, str(again))
    assert pp.load_shapes_file(str(again)) == shapes


def fixture_problems(rows):
    seen = []
    for r in rows:
        key = (r["suite"], r["shape"]) + tuple(int(r[f]) for f in FIELDS)
        if key not in seen:
            seen.append(key)
    return seen


def test_load_shapes_from_results_csv(tmp_path):
    import peer_pytorch as pp
    rows = read_rows(FIXTURE)
    shapes = pp.load_shapes_file(FIXTURE)
    got = [(s["suite"], s["shape"]) + tuple(s[f] for f in FIELDS) for s in shapes]
    assert got == fixture_problems(rows)
    bias = {(r["suite"], r["shape"]): r["bias"] == "1" for r in rows}
    assert {(s["suite"], s["shape"]): s["bias"] for s in shapes} == bias
    assert any(bias.values()) and not all(bias.values())

    # Without a bias column, bias is inferred from min_bytes (it adds c_out elements).
    cols = [c for c in fixture_columns() if c != "bias"]
    nobias = tmp_path / "nobias.csv"
    write_rows(nobias, rows, cols)
    shapes2 = pp.load_shapes_file(str(nobias))
    assert {(s["suite"], s["shape"]): s["bias"] for s in shapes2} == bias


def test_load_shapes_errors(tmp_path):
    import peer_pytorch as pp
    import tconv_results as tr
    with pytest.raises(tr.UserError, match="no such file"):
        pp.load_shapes_file(str(tmp_path / "nope.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("suite,shape,n\nx,y,1\n")
    with pytest.raises(tr.UserError, match="missing column"):
        pp.load_shapes_file(str(bad))
    cols = ["suite", "shape"] + FIELDS
    invalid = tmp_path / "invalid.csv"
    # c_in = 3 not divisible by groups = 2
    write_rows(invalid, [dict(zip(cols, ["s", "x", 1, 3, 4, 4, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1,
                                          2]))], cols)
    with pytest.raises(tr.UserError, match="groups"):
        pp.load_shapes_file(str(invalid))


def test_parse_list():
    import peer_pytorch as pp
    import tconv_results as tr
    assert pp.parse_list(["fp16,fp32", "fp16"], pp.DTYPES, "--dtype") == ["fp16", "fp32"]
    assert pp.parse_list(["all"], pp.DTYPES, "--dtype") == ["fp32", "tf32", "fp16", "bf16"]
    with pytest.raises(tr.UserError, match="fp8"):
        pp.parse_list(["fp8"], pp.DTYPES, "--dtype")


def test_cli_dry_run(run_script, tmp_path):
    res = run_script("peer_pytorch.py", "--shapes", FIXTURE, "--dtype", "fp32,bf16",
                     "--layout", "all", "--suite", "dcgan", "--suite", "networks", "--dry-run")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    n_shapes = len([p for p in fixture_problems(read_rows(FIXTURE))
                    if p[0] in ("dcgan", "networks")])
    assert len(lines) == n_shapes * 2 * 2 * 2
    import peer_pytorch as pp
    assert {ln.split()[1] for ln in lines} == set(pp.PEER_IMPLS)


def test_cli_errors_without_torch(run_script, tmp_path):
    hide = "sys.modules['torch'] = None"
    res = run_script("peer_pytorch.py", "--shapes", FIXTURE, "--csv", str(tmp_path / "o.csv"),
                     pre=hide)
    assert_one_line_error(res, "PyTorch is not importable")
    assert not (tmp_path / "o.csv").exists()
    res = run_script("peer_pytorch.py", "--shapes", str(tmp_path / "none.csv"), pre=hide)
    assert_one_line_error(res, "none.csv", "no such file")
    res = run_script("peer_pytorch.py", "--bench", str(tmp_path / "no_bench"), pre=hide)
    assert_one_line_error(res, "no_bench")
    res = run_script("peer_pytorch.py", "--shapes", FIXTURE, "--dtype", "fp8", pre=hide)
    assert_one_line_error(res, "fp8")
    res = run_script("peer_pytorch.py", "--shapes", FIXTURE, "--suite", "nope", pre=hide)
    assert_one_line_error(res, "nope")


# ---- begin/end padding: conv_transpose2d with min(begin, end) padding, then a slice ------------

def _begin_end_problem(b_h, e_h, b_w, e_w, **kw):
    import tconv_results as tr
    p = dict(n=1, c_in=2, h_in=3, w_in=4, c_out=3, k_h=3, k_w=2, stride_h=2, stride_w=3,
             pad_h=0, pad_w=0, out_pad_h=0, out_pad_w=0, dil_h=1, dil_w=1, groups=1)
    p.update(kw)
    tr.set_pads(p, "h", b_h, e_h)
    tr.set_pads(p, "w", b_w, e_w)
    assert tr.validate_problem(p) == ""
    return p


def test_torch_pads_plan():
    import peer_pytorch as pp
    import tconv_results as tr
    # PyTorch's form: as given, nothing to cut.
    p = {f: 1 for f in tr.PROBLEM_FIELDS}
    p.update(pad_h=1, pad_w=0, out_pad_h=0, out_pad_w=0, stride_h=2, stride_w=2)
    assert pp.torch_pads_plan(p) == ((1, 0), (0, 0), None, "")
    # SAME_UPPER (begin 0, end 1) on H; output past the full output (end -1) on W.
    p = _begin_end_problem(0, 1, 0, -1)
    assert pp.torch_pads_plan(p) == ((0, 0), (0, 1), ((0, tr.h_out(p)), (0, tr.w_out(p))), "")
    # end above begin: padding = begin, the last rows cut; begin above end: padding = end
    p = _begin_end_problem(1, 3, 4, 2)
    assert pp.torch_pads_plan(p) == ((1, 2), (0, 0), ((0, tr.h_out(p)), (2, tr.w_out(p))), "")
    # an output_padding PyTorch refuses: not_supported with the reason
    pad, out_pad, slices, why = pp.torch_pads_plan(_begin_end_problem(0, 0, 1, -3))
    assert pad is None and "output_padding 3" in why and "max(stride, dilation) = 3" in why


def test_torch_pads_plan_is_exact():
    """The plan's output equals the full output cropped or extended (bias only past it), on the
    CPU in float64."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    import peer_pytorch as pp
    import tconv_results as tr
    g = torch.Generator().manual_seed(5)
    for b_h, e_h, b_w, e_w in [(0, 1, 0, -1), (1, 3, 4, 2), (2, -1, 0, 0), (0, 4, 3, -2)]:
        p = _begin_end_problem(b_h, e_h, b_w, e_w)
        pad, out_pad, slices, why = pp.torch_pads_plan(p)
        assert why == ""
        x = torch.rand((p["n"], p["c_in"], p["h_in"], p["w_in"]), generator=g, dtype=torch.float64)
        w = torch.rand((p["c_in"], p["c_out"], p["k_h"], p["k_w"]), generator=g,
                       dtype=torch.float64)
        b = torch.rand((p["c_out"],), generator=g, dtype=torch.float64)
        kw = dict(stride=(p["stride_h"], p["stride_w"]), dilation=(1, 1))
        y = F.conv_transpose2d(x, w, b, padding=pad, output_padding=out_pad, **kw)
        (h0, hl), (w0, wl) = slices
        y = y[:, :, h0:h0 + hl, w0:w0 + wl]
        full = F.conv_transpose2d(x, w, b, **kw)
        expect = b.view(1, -1, 1, 1).expand(p["n"], p["c_out"], tr.h_out(p), tr.w_out(p)).clone()
        hf, wf = full.shape[2] - b_h, full.shape[3] - b_w
        expect[:, :, :min(hf, tr.h_out(p)), :min(wf, tr.w_out(p))] = \
            full[:, :, b_h:b_h + min(hf, tr.h_out(p)), b_w:b_w + min(wf, tr.w_out(p))]
        assert y.shape == expect.shape
        assert torch.equal(y, expect)
