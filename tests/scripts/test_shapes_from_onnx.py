"""scripts/shapes_from_onnx.py: ONNX models built here with onnx.helper (nothing is downloaded),
every ConvTranspose attribute and auto_pad mode, 1-D, a symbolic batch, skipped nodes with their
reasons; the semantics checked against onnxruntime through `tconv run --impl ref_direct` on the
node's own weights (--dump-tensors); the shapes file read back by tconv_bench's C++ reader."""

import csv
import os
import subprocess

import numpy as np
import pytest

from conftest import assert_one_line_error, require_binary

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

HEADER = "name,n,c_in,h_in,w_in,c_out,k,stride,pad,out_pad,dil,groups,bias,count"


# ---- building models -----------------------------------------------------------------------------

def ct_node(name, x, w, y, b=None, **attrs):
    return helper.make_node("ConvTranspose", [x, w] + ([b] if b else []), [y], name=name,
                            **attrs)


def make_model(nodes, inputs, initializers=(), outputs=None, opset=17):
    """inputs: {name: shape list (ints or str for symbolic)}; initializers: numpy arrays by name;
    outputs: names (default: the last node's output)."""
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()]
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
            for o in (outputs or [nodes[-1].output[0]])]
    inits = [numpy_helper.from_array(np.asarray(a, dtype=np.float32), n)
             for n, a in dict(initializers).items()]
    g = helper.make_graph(nodes, "g", ins, outs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def weights(c_in, c_out_g, *k, seed=0):
    return np.random.default_rng(seed).standard_normal((c_in, c_out_g, *k)).astype(np.float32)


def single(x_shape, w_shape, bias=False, **attrs):
    """One ConvTranspose node on graph input X."""
    inits = {"W": weights(*w_shape)}
    if bias:
        inits["B"] = np.random.default_rng(1).standard_normal(
            w_shape[1] * attrs.get("group", 1)).astype(np.float32)
    node = ct_node("up", "X", "W", "Y", "B" if bias else None, **attrs)
    return make_model([node], {"X": list(x_shape)}, inits)


def save(tmp_path, model, name="m.onnx"):
    path = tmp_path / name
    onnx.save(model, str(path))
    return str(path)


def extract(run_script, tmp_path, model, *args):
    """Runs the script on model -> (CompletedProcess, rows as dicts)."""
    path = save(tmp_path, model)
    out = tmp_path / "shapes.csv"
    if out.exists():
        out.unlink()
    res = run_script("shapes_from_onnx.py", path, "-o", str(out), *args)
    rows = []
    if out.exists():
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
    return res, rows


def only_row(res, rows):
    assert res.returncode == 0, res.stderr
    assert len(rows) == 1, rows
    return rows[0]


def problem(row):
    keys = ["n", "c_in", "h_in", "w_in", "c_out", "k", "stride", "pad", "out_pad", "dil",
            "groups", "bias", "count"]
    return {k: row[k] for k in keys}


# ---- attributes ----------------------------------------------------------------------------------

def test_every_attribute(run_script, tmp_path):
    m = single((2, 8, 5, 7), (8, 3, 3, 5), bias=True, strides=[2, 3], pads=[1, 2, 1, 2],
               dilations=[2, 1], group=2, output_padding=[1, 2], kernel_shape=[3, 5])
    res, rows = extract(run_script, tmp_path, m)
    r = only_row(res, rows)
    assert r["name"] == "up"
    assert problem(r) == {"n": "2", "c_in": "8", "h_in": "5", "w_in": "7", "c_out": "6",
                          "k": "3:5", "stride": "2:3", "pad": "1:2", "out_pad": "1:2",
                          "dil": "2:1", "groups": "2", "bias": "1", "count": "1"}
    with open(tmp_path / "shapes.csv") as f:
        assert f.readline().strip() == HEADER
    assert "1 of 1 ConvTranspose node(s) -> 1 shape(s)" in res.stderr


def test_defaults(run_script, tmp_path):
    res, rows = extract(run_script, tmp_path, single((1, 4, 6, 6), (4, 2, 3, 3)))
    assert problem(only_row(res, rows)) == {
        "n": "1", "c_in": "4", "h_in": "6", "w_in": "6", "c_out": "2", "k": "3", "stride": "1",
        "pad": "0", "out_pad": "0", "dil": "1", "groups": "1", "bias": "0", "count": "1"}


# (k, stride, auto_pad) -> (pad, out_pad) on a 5x6 input, (pad, "", pad_end) for begin/end padding
# outside PyTorch's form, or the start of the skip reason.
# full = stride*(in-1) + k; SAME target = in*stride; total = full - target.
AUTO_PAD_CASES = [
    (4, 2, "NOTSET", ("0", "0")),
    (4, 2, "VALID", ("0", "0")),
    (4, 2, "SAME_UPPER", ("1", "0")),   # total 2: begin 1, end 1
    (4, 2, "SAME_LOWER", ("1", "0")),
    (3, 2, "SAME_LOWER", ("1", "1")),   # total 1: begin 1, end 0 -> pad 1, out_pad 1
    (3, 2, "SAME_UPPER", ("0", "", "1")),  # begin 0, end 1: out_pad would be -1
    (5, 2, "SAME_LOWER", ("2", "1")),   # total 3: begin 2, end 1
    (5, 2, "SAME_UPPER", ("1", "", "2")),
    (3, 1, "SAME_UPPER", ("1", "0")),   # total 2
    (3, 1, "VALID", ("0", "0")),
    (1, 2, "SAME_UPPER", "SAME_UPPER asks for"),  # total -1: undefined split
    (1, 2, "SAME_LOWER", "SAME_LOWER asks for"),
]


@pytest.mark.parametrize("k,stride,auto_pad,expect", AUTO_PAD_CASES)
def test_auto_pad(run_script, tmp_path, k, stride, auto_pad, expect):
    attrs = {"strides": [stride, stride]}
    if auto_pad != "NOTSET":
        attrs["auto_pad"] = auto_pad
    # A second, plain node keeps the file non-empty when the first one is skipped.
    m = single((1, 4, 5, 6), (4, 2, k, k), **attrs)
    extra_w = weights(2, 2, 1, 1, seed=3)
    m.graph.initializer.append(numpy_helper.from_array(extra_w, "W2"))
    m.graph.node.append(ct_node("plain", "Y", "W2", "Z"))
    m.graph.output[0].name = "Z"
    res, rows = extract(run_script, tmp_path, m)
    assert res.returncode == 0, res.stderr
    names = [r["name"] for r in rows]
    if isinstance(expect, tuple):
        r = rows[names.index("up")]
        assert (r["pad"], r["out_pad"]) == expect[:2]
        assert r.get("pad_end", "") == (expect[2] if len(expect) == 3 else "")
        assert "skipped" not in res.stderr
    else:
        assert "up" not in names
        assert "skipped node 'up': " + expect in res.stderr, res.stderr
        assert names == ["plain"]


def test_output_shape(run_script, tmp_path):
    # k=3, s=2 on 5x6: full 11x13. output_shape 10x13: total 1, 0 -> begin 1 end 0 on H.
    res, rows = extract(run_script, tmp_path,
                        single((1, 4, 5, 6), (4, 2, 3, 3), strides=[2, 2],
                               output_shape=[10, 13]))
    r = only_row(res, rows)
    assert (r["pad"], r["out_pad"]) == ("1:0", "1:0")
    # pads are ignored when output_shape is given; N and C may be included
    res, rows = extract(run_script, tmp_path,
                        single((1, 4, 5, 6), (4, 2, 3, 3), strides=[2, 2], pads=[3, 3, 3, 3],
                               output_shape=[1, 2, 11, 12]))
    r = only_row(res, rows)
    assert (r["pad"], r["out_pad"]) == ("0:1", "0:1")  # totals 0 and 1 (begin 1, end 0)
    # output_padding takes part in the total: 11 + 1 - 12 = 0
    res, rows = extract(run_script, tmp_path,
                        single((1, 4, 5, 6), (4, 2, 3, 3), strides=[2, 2],
                               output_padding=[1, 1], output_shape=[12, 14]))
    r = only_row(res, rows)
    assert (r["pad"], r["out_pad"]) == ("0", "1")
    # SAME_UPPER with output_shape: totals 1, 0 -> begin 0, end 1 on H: begin/end padding
    res, rows = extract(run_script, tmp_path,
                        single((1, 4, 5, 6), (4, 2, 3, 3), strides=[2, 2], auto_pad="SAME_UPPER",
                               output_shape=[10, 13]))
    r = only_row(res, rows)
    assert (r["pad"], r["out_pad"], r["pad_end"]) == ("0", "", "1:0")
    # output_shape past the full output (ONNX's test_convtranspose_output_shape): the extra
    # outputs at the end, end padding -1, which is PyTorch's output_padding 1
    res, rows = extract(run_script, tmp_path,
                        single((1, 4, 5, 6), (4, 2, 3, 3), strides=[2, 2],
                               output_shape=[12, 14]))
    r = only_row(res, rows)
    assert (r["pad"], r["out_pad"]) == ("0", "1") and "pad_end" not in r
    # ... by the stride or more, output_padding or not: onnxruntime refuses it, skipped
    res, rows = extract(run_script, tmp_path,
                        single((1, 4, 5, 6), (4, 2, 3, 3), strides=[2, 2],
                               output_padding=[1, 0], output_shape=[13, 14]))
    assert res.returncode == 1 and rows == []
    assert "output_shape 13 passes the full output 11 by stride 2 or more" in res.stderr
    # ... by the stride or more: onnxruntime refuses it, skipped with the reason
    res, rows = extract(run_script, tmp_path,
                        single((1, 4, 5, 6), (4, 2, 3, 3), strides=[2, 2],
                               output_shape=[13, 13]))
    assert res.returncode == 1 and rows == []
    assert "skipped node 'up': output_shape asks for 13 outputs on axis 0" in res.stderr
    assert "output_shape 13 passes the full output 11 by stride 2 or more" in res.stderr
    # SAME_UPPER with a negative total: the split is undefined, skipped
    res, rows = extract(run_script, tmp_path,
                        single((1, 4, 5, 6), (4, 2, 3, 3), strides=[2, 2], auto_pad="SAME_UPPER",
                               output_shape=[12, 13]))
    assert res.returncode == 1 and rows == []
    assert "does not define how a negative total is split with SAME_UPPER" in res.stderr


def test_output_padding_and_asymmetric_pads(run_script, tmp_path):
    # begin 2 / end 1 on H is padding 2 with one extra output row (output_padding 1).
    res, rows = extract(run_script, tmp_path,
                        single((1, 4, 5, 6), (4, 2, 4, 4), strides=[2, 2], pads=[2, 1, 1, 1],
                               output_padding=[0, 1]))
    r = only_row(res, rows)
    assert (r["pad"], r["out_pad"]) == ("2:1", "1")
    # end pad beyond begin: begin/end padding, pad the begin and pad_end the end
    res, rows = extract(run_script, tmp_path,
                        single((1, 4, 5, 6), (4, 2, 4, 4), strides=[2, 2], pads=[0, 1, 2, 1]))
    r = only_row(res, rows)
    assert (r["pad"], r["out_pad"], r["pad_end"]) == ("0:1", "", "2:1")
    # begin - end + output_padding reaching the stride: end 0 - output_padding 1 = -1 on H
    res, rows = extract(run_script, tmp_path,
                        single((1, 4, 5, 6), (4, 2, 4, 4), strides=[2, 2], pads=[2, 1, 0, 1],
                               output_padding=[1, 0]))
    r = only_row(res, rows)
    assert (r["pad"], r["out_pad"], r["pad_end"]) == ("2:1", "", "-1:1")


def test_dilation_and_groups(run_script, tmp_path):
    # output_padding below the dilation (not the stride): PyTorch's rule accepts it.
    res, rows = extract(run_script, tmp_path,
                        single((3, 12, 4, 4), (12, 1, 3, 3), bias=True, group=12,
                               dilations=[3, 2], output_padding=[2, 1]))
    r = only_row(res, rows)
    assert problem(r) == {"n": "3", "c_in": "12", "h_in": "4", "w_in": "4", "c_out": "12",
                          "k": "3", "stride": "1", "pad": "0", "out_pad": "2:1", "dil": "3:2",
                          "groups": "12", "bias": "1", "count": "1"}


def test_one_d(run_script, tmp_path):
    res, rows = extract(run_script, tmp_path,
                        single((2, 6, 9), (6, 4, 5), bias=True, strides=[3], pads=[2, 2],
                               output_padding=[1], dilations=[1]))
    r = only_row(res, rows)
    assert problem(r) == {"n": "2", "c_in": "6", "h_in": "1", "w_in": "9", "c_out": "4",
                          "k": "1:5", "stride": "1:3", "pad": "0:2", "out_pad": "0:1",
                          "dil": "1", "groups": "1", "bias": "1", "count": "1"}


def chain_model(batch_dim):
    """X -> Relu -> ConvTranspose a (x2) -> ConvTranspose b (x2) -> Add with a second branch:
    the inputs of b come from shape inference."""
    w1, w2 = weights(8, 4, 4, 4), weights(4, 2, 4, 4, seed=1)
    nodes = [helper.make_node("Relu", ["X"], ["r"], name="relu"),
             ct_node("a", "r", "W1", "y1", strides=[2, 2], pads=[1, 1, 1, 1]),
             ct_node("b", "y1", "W2", "y2", strides=[2, 2], pads=[1, 1, 1, 1])]
    return make_model(nodes, {"X": [batch_dim, 8, 4, 5]}, {"W1": w1, "W2": w2})


@pytest.mark.parametrize("batch_dim", ["N", None])
def test_symbolic_batch(run_script, tmp_path, batch_dim):
    m = chain_model(batch_dim)
    res, rows = extract(run_script, tmp_path, m)
    assert res.returncode == 0, res.stderr
    assert [(r["name"], r["n"], r["h_in"], r["w_in"]) for r in rows] == \
        [("a", "1", "4", "5"), ("b", "1", "8", "10")]
    res, rows = extract(run_script, tmp_path, m, "--batch", "16")
    assert [(r["name"], r["n"]) for r in rows] == [("a", "16"), ("b", "16")]


def test_fixed_batch_is_kept(run_script, tmp_path):
    res, rows = extract(run_script, tmp_path, chain_model(4), "--batch", "16")
    assert [r["n"] for r in rows] == ["4", "4"]


def test_count_and_names(run_script, tmp_path):
    w = weights(4, 4, 4, 4)
    nodes = [ct_node("dec/up.0", "X", "W", "y1", strides=[1, 1], pads=[0, 0, 0, 0]),
             ct_node("dec/up.1", "X", "W", "y2", strides=[1, 1]),   # same problem
             ct_node("dec/up.0", "X", "W", "y3", strides=[2, 2]),   # same name, other problem
             ct_node("", "X", "W", "y4", "B", strides=[1, 1])]      # bias: another problem
    m = make_model(nodes, {"X": [1, 4, 6, 6]}, {"W": w, "B": np.ones(4)},
                   outputs=["y1", "y2", "y3", "y4"])
    res, rows = extract(run_script, tmp_path, m)
    assert res.returncode == 0, res.stderr
    assert [(r["name"], r["count"], r["stride"], r["bias"]) for r in rows] == [
        ("dec_up.0", "2", "1", "0"), ("dec_up.0_2", "1", "2", "0"),
        ("ConvTranspose_4", "1", "1", "1")]
    assert "4 of 4 ConvTranspose node(s) -> 3 shape(s)" in res.stderr


def test_skipped_nodes_named_with_reasons(run_script, tmp_path):
    w2, w3 = weights(4, 2, 3, 3), weights(4, 2, 3, 3, 3)
    nodes = [ct_node("good", "X", "W2", "y1", strides=[2, 2], pads=[1, 1, 1, 1]),
             ct_node("vol", "V", "W3", "y2"),                         # 3-D
             ct_node("lopsided", "X", "W2", "y3", pads=[0, 0, 2, 0]),  # end pad > begin: read
             ct_node("dynamic", "D", "W2", "y4"),                     # symbolic H, W
             ct_node("runtime_w", "X", "WI", "y5"),                   # weight of unknown shape
             ct_node("wrong_c", "X", "W5", "y6")]                     # channels disagree
    m = make_model(nodes, {"X": [1, 4, 5, 5], "V": [1, 4, 3, 3, 3], "D": [1, 4, "H", "W"],
                           "WI": None},
                   {"W2": w2, "W3": w3, "W5": weights(5, 2, 3, 3)},
                   outputs=["y1", "y2", "y3", "y4", "y5", "y6"])
    res, rows = extract(run_script, tmp_path, m)
    assert res.returncode == 0, res.stderr
    assert [r["name"] for r in rows] == ["good", "lopsided"]
    err = res.stderr
    assert "skipped node 'vol': 3-D ConvTranspose" in err
    assert "'lopsided'" not in err
    assert "skipped node 'dynamic': input 'D' has dimensions inference cannot give: " \
           "axis 2 = 'H', axis 3 = 'W'" in err
    assert "skipped node 'runtime_w': the shape of its weight 'WI' is unknown" in err
    assert "skipped node 'wrong_c': weight dim 0 = 5 but the input has 4 channels" in err
    assert "2 of 6 ConvTranspose node(s) -> 2 shape(s)" in err and "4 skipped" in err
    assert "Traceback" not in err
    # --dim gives the symbolic dimensions a value: the node is then read
    res, rows = extract(run_script, tmp_path, m, "--dim", "H=7", "--dim", "W=9")
    assert [(r["name"], r["h_in"], r["w_in"]) for r in rows] == [("good", "5", "5"),
                                                                 ("lopsided", "5", "5"),
                                                                 ("dynamic", "7", "9")]


def test_stdout_when_no_output_file(run_script, tmp_path):
    path = save(tmp_path, single((1, 4, 6, 6), (4, 2, 3, 3)))
    res = run_script("shapes_from_onnx.py", path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [HEADER, "up,1,4,6,6,2,3,1,0,0,1,1,0,1"]


# ---- errors --------------------------------------------------------------------------------------

def test_errors_are_one_line_and_write_nothing(run_script, tmp_path):
    out = tmp_path / "shapes.csv"
    out.write_text("old\n")
    res = run_script("shapes_from_onnx.py", str(tmp_path / "missing.onnx"), "-o", str(out))
    assert_one_line_error(res, "missing.onnx", "no such file")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\xffnot a model at all\x12\x34")
    res = run_script("shapes_from_onnx.py", str(bad), "-o", str(out))
    assert_one_line_error(res, "bad.onnx", "not a readable ONNX model")
    relu = make_model([helper.make_node("Relu", ["X"], ["Y"])], {"X": [1, 2]})
    res = run_script("shapes_from_onnx.py", save(tmp_path, relu, "relu.onnx"), "-o", str(out))
    assert_one_line_error(res, "no ConvTranspose node")
    res = run_script("shapes_from_onnx.py", save(tmp_path, single((1, 4, 5, 6), (4, 2, 3, 3)),
                                                 "ok.onnx"), "--batch", "0", "-o", str(out))
    assert_one_line_error(res, "--batch 0")
    res = run_script("shapes_from_onnx.py", str(tmp_path / "ok.onnx"), "--dim", "H", "-o",
                     str(out))
    assert_one_line_error(res, "--dim 'H'")
    assert out.read_text() == "old\n"  # untouched by every failed run
    # every node skipped: an error after the reasons, still no file written
    m = single((1, 4, 5, 6, 3), (4, 2, 4, 4, 2))  # 3-D
    res = run_script("shapes_from_onnx.py", save(tmp_path, m, "skip.onnx"), "-o", str(out))
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith("shapes_from_onnx.py: skipped node 'up': ")
    assert lines[-1].startswith("shapes_from_onnx.py: error: ") and "none of its 1" in lines[-1]
    assert out.read_text() == "old\n"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


# ---- the shapes file parses (Python and C++ readers) ---------------------------------------------

def test_python_reader_reads_it_back(run_script, tmp_path):
    import tconv_results as tr
    res, rows = extract(run_script, tmp_path, chain_model("N"), "--batch", "3")
    assert res.returncode == 0
    shapes = tr.read_shapes_file(str(tmp_path / "shapes.csv"))
    assert [(s["name"], s["n"], s["h_in"], s["k_h"], s["pad_w"], s["count"]) for s in shapes] \
        == [("a", 3, 4, 4, 1, 1), ("b", 3, 8, 4, 1, 1)]


def test_bench_reads_the_shapes_file(run_script, tmp_path):
    """tconv_bench's C++ reader (--shapes-file) on the written file, without a GPU: Google
    Benchmark's --benchmark_list_tests lists the planned rows and exits before any GPU work."""
    bench = require_binary("tconv_bench")
    w = weights(4, 4, 3, 3)
    nodes = [ct_node("l1", "X", "W", "y1", strides=[2, 2], pads=[1, 1, 1, 1],
                     output_padding=[1, 1]),
             ct_node("l2", "X", "W", "y2", strides=[2, 2], pads=[1, 1, 1, 1],
                     output_padding=[1, 1]),
             ct_node("l3", "X", "W", "y3", "B", auto_pad="SAME_LOWER", strides=[2, 3])]
    m = make_model(nodes, {"X": [None, 4, 6, 7]}, {"W": w, "B": np.zeros(4)},
                   outputs=["y1", "y2", "y3"])
    res, rows = extract(run_script, tmp_path, m, "--batch", "2")
    assert res.returncode == 0, res.stderr
    assert [(r["name"], r["count"]) for r in rows] == [("l1", "2"), ("l3", "1")]
    cmd = [bench, "--shapes-file", str(tmp_path / "shapes.csv"), "--benchmark_list_tests"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    listed = [ln for ln in out.stdout.splitlines() if ln.startswith("user/")]
    assert listed, out.stdout
    assert {ln.split("/")[1] for ln in listed} == {"l1", "l3"}
    # a broken count is refused by the same reader, naming the line
    text = (tmp_path / "shapes.csv").read_text().replace(",2\n", ",0\n", 1)
    (tmp_path / "bad.csv").write_text(text)
    out = subprocess.run([bench, "--shapes-file", str(tmp_path / "bad.csv"),
                          "--benchmark_list_tests"], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "bad.csv:2" in out.stderr and "count" in out.stderr


# ---- semantics: onnxruntime against tconv run --impl ref_direct ----------------------------------

# (x shape, w shape, bias, attrs): each must be expressible and accepted by onnxruntime.
ORT_CASES = [
    ((2, 4, 5, 6), (4, 3, 3, 3), True, {}),
    ((1, 4, 5, 6), (4, 2, 4, 4), True, {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ((1, 4, 5, 6), (4, 2, 3, 5), False, {"strides": [2, 3], "pads": [2, 1, 2, 0],
                                         "output_padding": [1, 1]}),
    ((1, 6, 4, 5), (6, 1, 3, 3), True, {"group": 3, "strides": [2, 1], "dilations": [2, 3],
                                        "pads": [1, 2, 1, 2], "output_padding": [1, 0]}),
    ((1, 4, 5, 6), (4, 2, 3, 3), True, {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    ((1, 4, 5, 6), (4, 2, 4, 4), True, {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ((1, 4, 5, 6), (4, 2, 3, 2), True, {"strides": [3, 2], "auto_pad": "VALID"}),
    ((1, 4, 5, 6), (4, 2, 3, 3), False, {"strides": [2, 2], "output_shape": [10, 12]}),
    ((1, 4, 5, 6), (4, 2, 3, 3), True, {"strides": [3, 3], "auto_pad": "SAME_LOWER",
                                        "output_shape": [14, 17]}),
    ((2, 6, 9), (6, 4, 5), True, {"strides": [3], "pads": [2, 1], "output_padding": [1]}),
    ((1, 4, 7), (4, 4, 3), False, {"strides": [2], "auto_pad": "SAME_LOWER"}),
    # begin/end padding outside PyTorch's form
    ((1, 4, 5, 6), (4, 2, 3, 3), True, {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ((1, 4, 5, 6), (4, 2, 5, 4), True, {"strides": [2, 3], "auto_pad": "SAME_UPPER"}),
    ((1, 4, 5, 6), (4, 2, 4, 4), False, {"strides": [2, 2], "pads": [0, 1, 2, 1]}),
    ((1, 4, 5, 6), (4, 2, 4, 4), True, {"strides": [2, 2], "pads": [2, 1, 0, 1],
                                        "output_padding": [1, 0]}),
    ((1, 4, 5, 6), (4, 2, 3, 3), True, {"strides": [2, 3], "output_shape": [12, 17]}),
    ((1, 4, 5, 6), (4, 2, 3, 3), True, {"strides": [3, 3], "auto_pad": "SAME_LOWER",
                                        "output_shape": [16, 20]}),
    ((2, 6, 9), (6, 4, 5), True, {"strides": [3], "pads": [1, 2]}),
    ((1, 4, 7), (4, 4, 3), True, {"strides": [2], "auto_pad": "SAME_UPPER"}),
    ((1, 4, 7), (4, 4, 3), False, {"strides": [3], "output_shape": [23]}),
]


@pytest.mark.parametrize("case", range(len(ORT_CASES)))
def test_matches_onnxruntime(run_script, tmp_path, case):
    ort = pytest.importorskip("onnxruntime", minversion="1.13")  # 1.13 fixed SAME_UPPER/LOWER
    tconv = require_binary("tconv")
    x_shape, w_shape, bias, attrs = ORT_CASES[case]
    model = single(x_shape, w_shape, bias=bias, **attrs)
    x = np.random.default_rng(7).standard_normal(x_shape).astype(np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y_ort = sess.run(None, {"X": x})[0]

    dump = tmp_path / "tensors"
    res, rows = extract(run_script, tmp_path, model, "--dump-tensors", str(dump))
    r = only_row(res, rows)
    with open(dump / "nodes.csv", newline="") as f:
        nodes = list(csv.DictReader(f))
    assert len(nodes) == 1 and nodes[0]["node"] == "up" and nodes[0]["shape"] == r["name"]
    w_dumped = np.load(dump / nodes[0]["weight"])
    assert w_dumped.ndim == len(w_shape) and w_dumped.dtype == np.float32  # the node's rank
    assert np.array_equal(w_dumped, numpy_helper.to_array(model.graph.initializer[0]))
    assert (nodes[0]["bias"] != "") == bias
    if x.ndim == 3:  # 1-D: one value per option
        assert "," not in nodes[0]["tconv_run"].split("--stride")[1], nodes[0]["tconv_run"]

    np.save(tmp_path / "x.npy", x.astype(np.float64))
    cmd = [tconv, "run", "--impl", "ref_direct", "--input", str(tmp_path / "x.npy"),
           "--output", str(tmp_path / "y.npy")] + nodes[0]["tconv_run"].split()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=str(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr
    y_ref = np.load(tmp_path / "y.npy")
    assert y_ref.shape == y_ort.shape, (y_ref.shape, y_ort.shape)
    # fp32 rounding of onnxruntime against the fp64 reference: a few ulps of the sums
    scale = float(np.abs(y_ref).max())
    assert scale > 0
    err = float(np.abs(y_ort.astype(np.float64) - y_ref).max())
    assert err <= 1e-5 * scale, (err, scale)


def test_dump_tensors_without_bias_values(run_script, tmp_path):
    """A weight that is not a constant: the shape is still written, the dump says why not."""
    nodes = [ct_node("rt", "X", "WI", "y")]
    m = make_model(nodes, {"X": [1, 4, 5, 5], "WI": [4, 2, 3, 3]})
    res, rows = extract(run_script, tmp_path, m, "--dump-tensors", str(tmp_path / "d"))
    assert only_row(res, rows)["name"] == "rt"
    assert "node 'rt': its weight is not a constant, no tensors written" in res.stderr
    with open(tmp_path / "d" / "nodes.csv") as f:
        assert len(f.read().strip().splitlines()) == 1  # header only


def test_external_data(run_script, tmp_path):
    """Weights stored outside the .onnx file (as every model over 2 GB does): the shapes come
    from the tensors' dims, the values are read for --dump-tensors."""
    m = single((1, 4, 5, 6), (4, 2, 4, 4), bias=True, strides=[2, 2], pads=[1, 1, 1, 1])
    w = numpy_helper.to_array(m.graph.initializer[0]).copy()
    path = tmp_path / "ext" / "model.onnx"
    path.parent.mkdir()
    onnx.save(m, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location="weights.bin", size_threshold=0)
    assert (path.parent / "weights.bin").stat().st_size >= w.nbytes
    out, dump = tmp_path / "s.csv", tmp_path / "d"
    res = run_script("shapes_from_onnx.py", str(path), "-o", str(out), "--dump-tensors",
                     str(dump))
    assert res.returncode == 0, res.stderr
    assert out.read_text().splitlines()[1] == "up,1,4,5,6,2,4,2,1,0,1,1,1,1"
    assert np.array_equal(np.load(dump / "up.weight.npy"), w)
    assert np.load(dump / "up.bias.npy").shape == (2,)


def test_local_function_is_inlined(run_script, tmp_path):
    """A ConvTranspose inside a model-local function is read (the function is inlined)."""
    fn = helper.make_function(
        "custom", "Up", ["x", "w"], ["y"],
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2],
                          pads=[1, 1, 1, 1])],
        opset_imports=[helper.make_opsetid("", 17)])
    g = helper.make_graph(
        [helper.make_node("Up", ["X", "W"], ["Y"], domain="custom", name="block")], "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4, 5, 6])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(weights(4, 2, 4, 4), "W")])
    m = helper.make_model(g, functions=[fn], opset_imports=[helper.make_opsetid("", 17),
                                                             helper.make_opsetid("custom", 1)])
    res, rows = extract(run_script, tmp_path, m)
    r = only_row(res, rows)
    assert (r["c_in"], r["h_in"], r["w_in"], r["k"], r["stride"], r["pad"]) == \
        ("4", "5", "6", "4", "2", "1")


def test_subgraph_node_is_named(run_script, tmp_path):
    """ConvTranspose nodes inside If/Loop bodies are not read, and said so."""
    body = helper.make_graph([ct_node("inner", "X", "W", "yb")], "then",
                             [], [helper.make_tensor_value_info("yb", TensorProto.FLOAT, None)])
    other = helper.make_graph([helper.make_node("Identity", ["X"], ["ye"])], "else",
                              [], [helper.make_tensor_value_info("ye", TensorProto.FLOAT, None)])
    nodes = [ct_node("outer", "X", "W", "y1"),
             helper.make_node("If", ["cond"], ["y2"], name="branch", then_branch=body,
                              else_branch=other)]
    m = make_model(nodes, {"X": [1, 4, 5, 6]}, {"W": weights(4, 4, 3, 3)},
                   outputs=["y1", "y2"])
    m.graph.input.append(helper.make_tensor_value_info("cond", TensorProto.BOOL, []))
    res, rows = extract(run_script, tmp_path, m)
    assert res.returncode == 0, res.stderr
    assert [r["name"] for r in rows] == ["outer"]
    assert "skipped node 'inner': inside a subgraph of node 'branch'" in res.stderr
