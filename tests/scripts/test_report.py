"""scripts/report.py on the fixture (not measurements) and on a results CSV built here for a
model's shapes file: the picks, the constrained picks and the model totals under each policy are
asserted against values worked out by hand."""

import csv
import os
import re

import pytest

from conftest import FIXTURE, assert_one_line_error, fixture_columns, read_rows, write_rows

import tconv_results as tr
from peer_pytorch import PEER_IMPLS

PT_DEFAULT, PT_BENCH = PEER_IMPLS

# A model: three layers' shapes with their counts (shapes-file format).
SHAPES = """name,n,c_in,h_in,w_in,c_out,k,stride,pad,out_pad,dil,groups,bias,count
enc_up,1,64,8,8,32,4,2,1,0,1,1,1,3
head,1,32,16,16,3,3,1,1,0,1,1,0,1
side,2,16,5,7,16,3:5,2:1,1:2,1:0,1,4,1,2
"""
A = dict(n=1, c_in=64, h_in=8, w_in=8, c_out=32, k_h=4, k_w=4, stride_h=2, stride_w=2, pad_h=1,
         pad_w=1, out_pad_h=0, out_pad_w=0, dil_h=1, dil_w=1, groups=1, bias=True)
B = dict(A, c_in=32, h_in=16, w_in=16, c_out=3, k_h=3, k_w=3, stride_h=1, stride_w=1,
         bias=False)
C = dict(n=2, c_in=16, h_in=5, w_in=7, c_out=16, k_h=3, k_w=5, stride_h=2, stride_w=1, pad_h=1,
         pad_w=2, out_pad_h=1, out_pad_w=0, dil_h=1, dil_w=1, groups=4, bias=True)
D = dict(A, c_in=8, c_out=8)  # in the results, not in the model

MIB = 1024 * 1024
# (problem, shape name in the bench file, impl, status, ms, deterministic, workspace bytes)
BENCH = [
    (A, "l_a", "fastimpl", "passed", 1.0, "no", 0),
    (A, "l_a", "wsimpl", "passed", 1.5, "yes", 8 * MIB),
    (A, "l_a", "cudnn_a", "passed", 2.0, "yes", 0),
    (A, "l_a", "cudnn_b", "passed", 1.8, "yes", 4 * MIB),
    (A, "l_a", "badimpl", "incorrect", None, "na", 0),
    (A, "l_a", "fastimpl", "passed", 1.2, "no", 0),  # a slower second run: the fastest counts
    (B, "l_b", "fastimpl", "passed", 0.5, "no", 0),
    (B, "l_b", "wsimpl", "passed", 0.4, "yes", 8 * MIB),
    (B, "l_b", "cudnn_a", "passed", 0.6, "yes", 0),
    (B, "l_b", "cudnn_b", "not_supported", None, "na", None),
    (C, "l_c", "fastimpl", "passed", 0.2, "no", 0),
    (C, "l_c", "cudnn_a", "passed", 0.3, "yes", 0),
    (C, "l_c", "wsimpl", "skipped", None, "na", None),
    (D, "l_d", "cudnn_a", "passed", 9.0, "yes", 0),
]
# The PyTorch peer, in its own file, with its own shape names (matched by problem).
PEER = [
    (A, "p1", PT_DEFAULT, "passed", 2.5, "no", 0),
    (A, "p1", PT_BENCH, "passed", 1.9, "no", 0),
    (B, "p2", PT_DEFAULT, "passed", 0.7, "yes", 0),
    (B, "p2", PT_BENCH, "passed", 0.65, "yes", 0),
]


def result_row(p, shape, impl, status, ms, det, ws, peer=False):
    flops = tr.problem_flops(p)
    mb = tr.problem_min_bytes(p, p["bias"], "fp32")
    r = {"suite": "user", "shape": shape, **{f: p[f] for f in tr.PROBLEM_FIELDS},
         "h_out": tr.h_out(p), "w_out": tr.w_out(p), "dtype": "fp32", "layout": "nchw",
         "impl": impl, "algo": "", "status": status,
         "reason": "" if status == "passed" else f"{impl} says {status}",
         "time_ms_median": "" if ms is None else ms, "time_ms_min": "" if ms is None else ms,
         "reps": 20 if ms else "", "gflops": "" if ms is None else flops / (ms * 1e-3) * 1e-9,
         "workspace_bytes": "" if ws is None else ws, "deterministic": det, "cache": "cold",
         "gpu": "TEST GPU (not a measurement)", "driver": "13000", "cuda": "13000",
         "cudnn": "91400", "commit": "peer" if peer else "abc123",
         "torch": "2.x (test)" if peer else "",  # peer_pytorch.py writes it in every row
         "timestamp": "2026-01-02T00:00:00Z", "flops": flops, "min_bytes": mb,
         "bias": int(p["bias"]), "count": ""}
    if not peer:
        r.update(ceiling_copy_gbps=2000.0, ceiling_sgemm_tflops=50.0)
    return r


@pytest.fixture
def model_files(tmp_path):
    cols = fixture_columns() + ["count"]
    bench = tmp_path / "bench.csv"
    write_rows(bench, [result_row(*r) for r in BENCH], cols)
    peer = tmp_path / "peer.csv"
    write_rows(peer, [result_row(*r, peer=True) for r in PEER], fixture_columns() + ["torch"])
    shapes = tmp_path / "model_shapes.csv"
    shapes.write_text(SHAPES)
    return str(bench), str(peer), str(shapes)


def table_rows(md, first_cell):
    """Cells of the Markdown table rows whose first cell is first_cell."""
    out = []
    for line in md.splitlines():
        if line.startswith("| "):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if cells[0] == first_cell:
                out.append(cells)
    return out


def section(md, title):
    m = re.search(r"^## " + re.escape(title) + r".*?(?=^## |\Z)", md, re.S | re.M)
    assert m, title
    return m.group(0)


def run_report(run_script, tmp_path, *args, out="rep"):
    res = run_script("report.py", *args, "--out", str(tmp_path / out))
    assert res.returncode == 0, res.stderr
    md = (tmp_path / out / "report.md").read_text()
    page = (tmp_path / out / "report.html").read_text()
    return res, md, page


# ---- a model ---------------------------------------------------------------------------------

def test_model_totals_and_picks(run_script, tmp_path, model_files):
    bench, peer, shapes = model_files
    res, md, page = run_report(run_script, tmp_path, bench, peer, "--shapes", shapes)
    totals = section(md, "Model totals")
    # by hand: counts 3, 1, 2
    assert table_rows(totals, "the pick per layer") == [
        ["the pick per layer", "3.8", "yes", "1.00x"]]          # 3*1.0 + 0.4 + 2*0.2
    assert table_rows(totals, "best baseline row per layer (`^cudnn`)") == [
        ["best baseline row per layer (`^cudnn`)", "6.6", "yes", "1.74x"]]  # 3*1.8 + .6 + 2*.3
    assert table_rows(totals, PT_DEFAULT) == [
        [PT_DEFAULT, "8.2", "incomplete: 2 of 3 layers", ""]]   # 3*2.5 + 0.7
    assert table_rows(totals, PT_BENCH) == [
        [PT_BENCH, "6.35", "incomplete: 2 of 3 layers", ""]]
    assert "constrained" not in totals and "pick if" not in totals
    # per layer: the pick and the best baseline row
    assert table_rows(totals, "enc_up")[0][:6] == ["enc_up", "3", "fastimpl", "1", "cudnn_b",
                                                    "1.8"]
    assert table_rows(totals, "head")[0][:6] == ["head", "1", "wsimpl", "0.4", "cudnn_a", "0.6"]
    assert table_rows(totals, "side")[0][:6] == ["side", "2", "fastimpl", "0.2", "cudnn_a",
                                                  "0.3"]
    # the summary names the pick of every shape, with speedups over the policies
    summ = section(md, "Summary")
    assert table_rows(summ, "user/l_a (= user/p1)") == [
        ["user/l_a (= user/p1)", "fp32", "nchw", "fastimpl", "1", "1.80x", "2.50x", "1.90x"]]
    assert table_rows(summ, "user/l_d")[0][3] == "cudnn_a"
    # the incorrect row is never picked, and is listed with its reason
    fails = section(md, "Not passed")
    assert "| user/l_a (= user/p1) | fp32 | nchw | badimpl | incorrect | badimpl says incorrect |" \
        in fails
    assert "| user/l_c | fp32 | nchw | wsimpl | skipped | wsimpl says skipped |" in fails
    # rankings: fastest first, one row per implementation (the fastest of its runs)
    rank = section(md, "Rankings")
    la = rank[rank.index("### user/l_a"):]
    la = la[:la.index("\n### ")]
    impls = [ln.split(" | ")[1] for ln in la.splitlines() if re.match(r"\| [0-9]", ln)]
    assert impls == ["fastimpl", "wsimpl", "cudnn_b", PT_BENCH, "cudnn_a", PT_DEFAULT]
    # % of floor from the run's own ceilings: A in fp32, 1.0 ms
    flops, mb = tr.problem_flops(A), tr.problem_min_bytes(A, True, "fp32")
    floor_ms = max(flops / 50e12, mb / 2000e9) * 1e3
    assert f"| 1* | fastimpl |  | 1 | 1.00x |" in la
    assert f"| {100 * floor_ms / 1.0:.0f}% |" in la
    # speedups per dtype: geometric means over the shapes where both passed
    sp = section(md, "Geometric-mean speedups")
    row = table_rows(sp, "fastimpl")[0]
    # vs best baseline over A, B, C: 1.8/1.0, 0.6/0.5, 0.3/0.2; vs PT_DEFAULT: A, B
    assert row[1] == f"{(1.8 * 1.2 * 1.5) ** (1 / 3):.2f}x" and row[2] == "3"
    assert row[3] == f"{(2.5 * 1.4) ** 0.5:.2f}x" and row[4] == "2"
    # environment, and the warning that these are not measurements
    env = section(md, "Environment")
    assert "TEST GPU (not a measurement)" in env and "abc123" in env and "peer" in env
    assert "not measurements" in env
    # the HTML has the same content and embeds its plots
    assert "<h2>Model totals</h2>" in page and "fastimpl" in page
    imgs = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert imgs and all(s.startswith("data:image/png;base64,") for s in imgs)
    assert "totals_fp32_nchw.png" in md and os.path.exists(tmp_path / "rep" /
                                                           "totals_fp32_nchw.png")
    assert res.stdout.split() == [str(tmp_path / "rep" / "report.md"),
                                  str(tmp_path / "rep" / "report.html")]


@pytest.mark.parametrize("args,picks,total", [
    # deterministic: A wsimpl 1.5, B wsimpl 0.4, C cudnn_a 0.3 -> 4.5 + 0.4 + 0.6
    (["--deterministic"], ["wsimpl", "wsimpl", "cudnn_a"], "5.5"),
    # workspace <= 1 MiB: A fastimpl, B fastimpl 0.5, C fastimpl -> 3 + 0.5 + 0.4
    (["--max-workspace", "1MiB"], ["fastimpl", "fastimpl", "fastimpl"], "3.9"),
    # both: A cudnn_a 2.0 (cudnn_b needs 4 MiB), B cudnn_a 0.6, C cudnn_a -> 6 + 0.6 + 0.6
    (["--deterministic", "--max-workspace", "1048576"], ["cudnn_a", "cudnn_a", "cudnn_a"], "7.2"),
    # no workspace at all allowed: same as above here
    (["--deterministic", "--max-workspace", "0"], ["cudnn_a", "cudnn_a", "cudnn_a"], "7.2"),
])
def test_constrained_picks(run_script, tmp_path, model_files, args, picks, total):
    bench, peer, shapes = model_files
    _, md, _ = run_report(run_script, tmp_path, bench, peer, "--shapes", shapes, *args)
    totals = section(md, "Model totals")
    rows = [ln for ln in totals.splitlines() if ln.startswith("| the pick per layer if ")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split(" | ")]
    assert cells[1:3] == [total, "yes"]
    # the unconstrained pick is unchanged
    assert table_rows(totals, "the pick per layer")[0][1] == "3.8"
    got = [table_rows(totals, name)[0][-2] for name in ("enc_up", "head", "side")]
    assert got == picks
    # the summary's constrained column says the same
    summ = section(md, "Summary")
    assert table_rows(summ, "user/l_a (= user/p1)")[0][-2] == picks[0]


def test_layer_missing_from_results(run_script, tmp_path, model_files):
    bench, peer, _ = model_files
    shapes = tmp_path / "more.csv"
    shapes.write_text(SHAPES + "new,1,3,3,3,3,3,1,0,0,1,1,0,5\n")
    _, md, _ = run_report(run_script, tmp_path, bench, "--shapes", str(shapes))
    totals = section(md, "Model totals")
    assert table_rows(totals, "the pick per layer") == [
        ["the pick per layer", "3.8", "incomplete: 3 of 4 layers", ""]]
    assert table_rows(totals, "new")[0][:3] == ["new", "5", "(not in the results)"]
    assert PT_DEFAULT not in totals and PT_BENCH not in totals  # no peer file given


def test_peers_are_the_rows_with_a_torch_version(run_script, tmp_path, model_files):
    # Not by name: a peer row under any impl name is a policy of its own; a bench row that
    # happens to carry a peer's name (no torch column) is one more implementation.
    bench, _, shapes = model_files
    peer = tmp_path / "other_peer.csv"
    write_rows(peer, [result_row(A, "p1", "torch_other", "passed", 2.0, "yes", 0, peer=True)],
               fixture_columns() + ["torch"])
    named = tmp_path / "named.csv"
    write_rows(named, [result_row(B, "q1", PT_DEFAULT, "passed", 0.3, "yes", 0)],
               fixture_columns())
    _, md, _ = run_report(run_script, tmp_path, bench, str(peer), str(named), "--shapes", shapes)
    totals = section(md, "Model totals")
    assert table_rows(totals, "torch_other") == [
        ["torch_other", "6", "incomplete: 1 of 3 layers", ""]]   # 3*2.0
    assert table_rows(totals, PT_DEFAULT) == []
    assert "vs torch_other" in section(md, "Summary") and f"vs {PT_DEFAULT}" not in md
    # the bench row named like a peer is picked for B as any implementation would be
    assert table_rows(totals, "head")[0][:4] == ["head", "1", PT_DEFAULT, "0.3"]


def test_print_summary(run_script, tmp_path, model_files):
    bench, peer, _ = model_files
    res = run_script("report.py", bench, peer, "--print-summary", "--out", str(tmp_path / "r"))
    assert res.returncode == 0, res.stderr
    assert "| user/l_b (= user/p2) | fp32 | nchw | wsimpl | 0.4 | 1.50x |" in res.stdout
    assert str(tmp_path / "r" / "report.md") in res.stderr


def test_summary_markdown_for_other_scripts(model_files):
    import report
    bench, peer, _ = model_files
    md = report.summary_markdown([bench, peer])
    assert md.startswith("The pick is the fastest")
    assert "| user/l_b (= user/p2) | fp32 | nchw | wsimpl | 0.4 | 1.50x |" in md
    md = report.summary_markdown([bench], deterministic=True, max_workspace="0")
    assert "| user/l_a | fp32 | nchw | fastimpl | 1 | 1.80x | cudnn_a | 2 |" in md
    with pytest.raises(tr.UserError):
        report.summary_markdown([bench], max_workspace="x")


# ---- the fixture -------------------------------------------------------------------------------

def test_fixture_picks(run_script, tmp_path):
    _, md, page = run_report(run_script, tmp_path, FIXTURE, "--deterministic",
                             "--max-workspace", "0")
    rows = read_rows(FIXTURE)
    best, best_ok = {}, {}
    for r in rows:
        if r["status"] != "passed":
            continue
        k = (f"{r['suite']}/{r['shape']}", r["dtype"], r["layout"])
        t = float(r["time_ms_median"])
        if k not in best or t < best[k][1]:
            best[k] = (r["impl"], t)
        if r["deterministic"] == "yes" and r["workspace_bytes"] == "0" and \
                (k not in best_ok or t < best_ok[k][1]):
            best_ok[k] = (r["impl"], t)
    assert len(best) >= 10
    summ = section(md, "Summary")
    for (label, dtype, layout), (impl, t) in best.items():
        cells = [c for c in table_rows(summ, label) if c[1] == dtype and c[2] == layout]
        assert len(cells) == 1, (label, dtype, layout)
        assert cells[0][3] == impl and float(cells[0][4]) == pytest.approx(t, rel=1e-3)
        ok = best_ok.get((label, dtype, layout))
        assert cells[0][-2] == (ok[0] if ok else "(none meets it)")
    # The fixture's one incorrect row is listed, never picked.
    bad = [r for r in rows if r["status"] == "incorrect"]
    assert len(bad) == 1
    fails = section(md, "Not passed")
    assert f"| {bad[0]['impl']} | incorrect | {bad[0]['reason']} |" in fails
    for r in rows:
        if r["status"] in ("skipped", "not_supported"):
            assert r["reason"] in fails
    assert "Model totals" not in md  # no --shapes
    assert "FIXTURE (not a measurement)" in md and "not measurements" in md
    assert page.count("data:image/png;base64,") >= 2


def test_fixture_percent_of_floor(run_script, tmp_path):
    """One row worked out by hand from the fixture's own ceilings."""
    _, md, _ = run_report(run_script, tmp_path, FIXTURE)
    r = next(r for r in read_rows(FIXTURE) if r["status"] == "passed" and r["dtype"] == "fp32")
    floor_s = max(float(r["flops"]) / (float(r["ceiling_sgemm_tflops"]) * 1e12),
                  float(r["min_bytes"]) / (float(r["ceiling_copy_gbps"]) * 1e9))
    pct = 100 * floor_s / (float(r["time_ms_median"]) * 1e-3)
    rank = section(md, "Rankings")
    head = f"### {r['suite']}/{r['shape']}, fp32, {r['layout']}"
    block = rank[rank.index(head):]
    block = block[:block.index("\n### ")] if "\n### " in block else block
    line = next(ln for ln in block.splitlines() if f"| {r['impl']} |" in ln)
    assert f"| {pct:.0f}% |" in line


# ---- errors ------------------------------------------------------------------------------------

def test_errors(run_script, tmp_path, model_files):
    bench, _, shapes = model_files
    out = tmp_path / "o"
    res = run_script("report.py", str(tmp_path / "nope.csv"), "--out", str(out))
    assert_one_line_error(res, "nope.csv", "no such file")
    res = run_script("report.py", bench, "--max-workspace", "lots", "--out", str(out))
    assert_one_line_error(res, "--max-workspace 'lots'")
    res = run_script("report.py", bench, "--baseline-regex", "(", "--out", str(out))
    assert_one_line_error(res, "--baseline-regex")
    bad = tmp_path / "bad_shapes.csv"
    bad.write_text(SHAPES.replace(",1,3\n", ",1,0\n"))
    res = run_script("report.py", bench, "--shapes", str(bad), "--out", str(out))
    assert_one_line_error(res, "bad_shapes.csv:2", "count=0")
    few = tmp_path / "few.csv"
    with open(few, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["suite", "shape", "impl"])
        w.writerow(["a", "b", "c"])
    res = run_script("report.py", str(few), "--out", str(out))
    assert_one_line_error(res, "missing column(s)")
    assert not out.exists()  # nothing written by a failed run
    afile = tmp_path / "afile"
    afile.write_text("x")
    res = run_script("report.py", bench, "--out", str(afile))
    assert_one_line_error(res, "not a folder")


def test_accuracy_column_shown(run_script, tmp_path, model_files):
    bench, _, _ = model_files
    rows = read_rows(bench)
    for r in rows:
        r["accuracy"] = "reduced" if r["impl"] == "wsimpl" and r["status"] == "passed" else \
            ("full" if r["status"] == "passed" else "")
    write_rows(tmp_path / "acc.csv", rows, fixture_columns() + ["count", "accuracy"])
    _, md, _ = run_report(run_script, tmp_path, str(tmp_path / "acc.csv"))
    rank = section(md, "Rankings")
    assert "| deterministic | accuracy |" in rank
    line = next(ln for ln in rank.splitlines() if "| wsimpl |" in ln)
    assert line.endswith("| yes | reduced |")


def test_count_column_is_read_as_a_number(tmp_path, model_files):
    bench, _, _ = model_files
    rows = read_rows(bench)
    for r in rows:
        r["count"] = "3"
    write_rows(tmp_path / "c.csv", rows, fixture_columns() + ["count"])
    df = tr.load_results([str(tmp_path / "c.csv")], ["impl"])
    assert list(df["count"].unique()) == [3.0]


# ---- the default choice against the best -----------------------------------------------------

def test_default_choice_names_come_from_the_contract():
    assert set(tr.DEFAULT_CHOICE_IMPLS) >= {"cudnn_heuristic", "cudnn_graph_heuristic"}


def test_fixture_default_choice_loss_and_break_even(run_script, tmp_path):
    """The fixture's default-choice rows against the best of their shape, worked out by hand:
    dcgan/l2 fp32: (18.348 - 0.412) / (0.228173 - 0.116549) = 160.7 -> 161 calls."""
    _, md, page = run_report(run_script, tmp_path, FIXTURE, "--setup-threshold-ms", "30")
    sec = section(md, "Default choice against the best")
    l2 = table_rows(sec, "dcgan/l2")
    assert [c for c in l2 if c[1] == "fp32"] == [
        ["dcgan/l2", "fp32", "nchw", "cudnn_heuristic", "0.2282", "phase_gemm", "0.1165", "1.96x",
         "18.35", "161", ""]]
    # As fast as the best: autotuning has nothing to win.
    l3 = [c for c in table_rows(sec, "dcgan/l3") if c[1] == "fp32"]
    assert l3[0][3] == "cudnn_heuristic" and l3[0][9] == "never needed"
    # (5.991 - 0.398) / (0.035501 - 0.018556) = 330.07 -> 331
    cyc = table_rows(sec, "networks/cyclegan")
    assert [c[3] for c in cyc] == ["cudnn_heuristic"] and cyc[0][9] == "331"
    # The frontend's default; the best's setup (40.8 ms) is over the 30 ms threshold.
    g = [c for c in l3 + table_rows(sec, "dcgan/l3") if c[3] == "cudnn_graph_heuristic"]
    assert g[0][1] == "fp16" and g[0][9] == "2,521" and g[0][10] == "setup over threshold"
    assert sum(c[10] == "setup over threshold" for c in table_rows(sec, "dcgan/l2")) == 0
    assert "Default choice against the best" in page
    # Without a default-choice row the section says so.
    plain = [r for r in read_rows(FIXTURE) if r["impl"] not in tr.DEFAULT_CHOICE_IMPLS]
    path = tmp_path / "plain.csv"
    write_rows(path, plain, fixture_columns())
    _, md2, _ = run_report(run_script, tmp_path, str(path), out="plain")
    assert "No default-choice row passed" in section(md2, "Default choice against the best")


def test_model_default_choice_per_layer(run_script, tmp_path, model_files):
    """Per model layer with its count: enc_up (count 3) loses 3 x (2.4 - 1.0) = 4.2 ms per model
    call, head (count 1) 1 x (0.9 - 0.4) = 0.5; the bests' extra setup is (50 - 1) + (20 - 1) = 68
    ms: break-even after ceil(68 / 4.7) = 15 model calls."""
    bench, _, shapes = model_files
    rows = read_rows(bench)
    for r in rows:
        r["setup_ms"] = {"fastimpl": "50", "wsimpl": "20"}.get(r["impl"], "5")
    extra = []
    for p, name, ms in ((A, "l_a", 2.4), (B, "l_b", 0.9)):
        r = result_row(p, name, "cudnn_heuristic", "passed", ms, "yes", 0)
        r["setup_ms"] = "1"
        extra.append(r)
    path = tmp_path / "with_default.csv"
    write_rows(path, rows + extra, fixture_columns() + ["count"])
    _, md, _ = run_report(run_script, tmp_path, str(path), "--shapes", shapes)
    sec = section(md, "Default choice against the best")
    assert table_rows(sec, "enc_up") == [["enc_up", "3", "2.4", "fastimpl", "1", "2.40x", "4.2"]]
    assert table_rows(sec, "head") == [["head", "1", "0.9", "wsimpl", "0.4", "2.25x", "0.5"]]
    assert "2 of 3 layer shapes have both rows" in sec
    assert "loses 4.7 ms" in sec and "68 ms of setup more" in sec
    assert "break-even after 15 model calls" in sec


def test_throttled_rows_are_marked_and_missing_nvml_is_said_once(run_script, tmp_path):
    """The clock columns (docs/results-csv.md): a row timed while throttled is marked in the
    summary, its ranking and a table of its own; rows without NVML say why once."""
    rows = read_rows(FIXTURE)
    cols = fixture_columns() + ["sm_clock_mean_mhz", "power_mean_w", "energy_per_call_j",
                                "throttle_reasons", "throttled", "nvml"]
    passed = [r for r in rows if r["status"] == "passed"]
    # The fastest row of the first group: the pick, timed while power-capped.
    first = (passed[0]["suite"], passed[0]["shape"], passed[0]["dtype"], passed[0]["layout"])
    group = [r for r in passed if (r["suite"], r["shape"], r["dtype"], r["layout"]) == first]
    pick = min(group, key=lambda r: float(r["time_ms_median"]))
    for r in rows:
        timed = r["status"] == "passed"
        r.update(sm_clock_mean_mhz="1980" if timed else "", power_mean_w="650" if timed else "",
                 throttle_reasons="none" if timed else "", throttled="no" if timed else "",
                 nvml="nvml 13.580.82")
    pick.update(sm_clock_mean_mhz="1410", throttle_reasons="sw_power_cap", throttled="yes")
    path = tmp_path / "clocks.csv"
    write_rows(path, rows, cols)
    _, md, _ = run_report(run_script, tmp_path, str(path))
    clocks = section(md, "Clocks, power and throttling")
    assert f"{len(rows)} rows: clocks and power from `nvml 13.580.82`" in clocks
    assert f"1 of {len(passed)} timed rows were timed while the GPU was throttled" in clocks
    label = f"{pick['suite']}/{pick['shape']}"
    hot = table_rows(clocks, label)
    assert len(hot) == 1 and hot[0][3] == pick["impl"] and hot[0][-1] == "sw_power_cap"
    summ = [c for c in table_rows(section(md, "Summary"), label)
            if c[1] == pick["dtype"] and c[2] == pick["layout"]]
    assert summ[0][3] == pick["impl"] + " (THROTTLED)"
    ranking = section(md, "Rankings per shape")
    assert "| 1* | " + pick["impl"] + " |" in ranking
    assert ranking.count("THROTTLED: sw_power_cap") == 1
    assert "1980 MHz" in ranking

    # Without NVML: empty cells, the reason once, nothing marked.
    for r in rows:
        r.update(sm_clock_mean_mhz="", power_mean_w="", throttle_reasons="", throttled="",
                 nvml="unavailable: cannot load libnvidia-ml.so.1")
    write_rows(path, rows, cols)
    _, md, _ = run_report(run_script, tmp_path, str(path), out="rep2")
    clocks = section(md, "Clocks, power and throttling")
    assert clocks.count("unavailable: cannot load libnvidia-ml.so.1") == 1
    assert "THROTTLED" not in md and "SM clock" not in md
