"""ONNX's own conformance cases for ConvTranspose, as a user takes them: each model through
`shapes_from_onnx.py --dump-tensors`, then the `tconv run` options that nodes.csv prints, with
--impl ref_direct, ref_matrix and ref_zero_insert, against the case's expected output.

The cases: the backend node cases of the onnx package (onnx.backend.test.case.node, the generator
of backend/test/data/node/test_convtranspose_*; those folders are read too where the installed
package ships them) and the PyTorch-exported ConvTranspose models under
backend/test/data/pytorch-converted and pytorch-operator, each with test_data_set_0. A node case
takes its weight (and bias) as graph inputs; they are made initializers with the case's values,
since --dump-tensors writes constant weights only. Every 1-D and 2-D case must match; the 3-D case
must be named as skipped with its reason by the script, and is reported skipped here.

Random begin/end-padding problems (tconv run --padding B:E) go through the three references
against each other, and against onnxruntime where it is installed (skipped, not passed, where it
is not)."""

import csv
import glob
import os
import subprocess

import numpy as np
import pytest

from conftest import require_binary

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

REFS = ["ref_direct", "ref_matrix", "ref_zero_insert"]


def _data_root():
    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")


def _node_cases():
    """(name, model, inputs, expected) of onnx.backend.test.case.node for ConvTranspose."""
    import warnings

    from onnx.backend.test.case import node as node_cases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node_cases.collect_testcases("ConvTranspose")
    out = []
    for c in cases:
        inputs, outputs = c.data_sets[0]
        out.append((c.name, c.model, [np.asarray(a) for a in inputs],
                    np.asarray(outputs[0])))
    return out


def _read_pb(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def _folder_cases():
    """Cases stored as model.onnx + test_data_set_0 under the package's backend test data."""
    root = _data_root()
    dirs = sorted(glob.glob(os.path.join(root, "node", "test_convtranspose*")))
    for sub in ("pytorch-converted", "pytorch-operator"):
        dirs += sorted(d for d in glob.glob(os.path.join(root, sub, "test_*"))
                       if "convtranspose" in os.path.basename(d).lower())
    out = []
    for d in dirs:
        ds = os.path.join(d, "test_data_set_0")
        if not os.path.isfile(os.path.join(d, "model.onnx")) or not os.path.isdir(ds):
            continue
        inputs = [_read_pb(p) for p in sorted(glob.glob(os.path.join(ds, "input_*.pb")))]
        expected = _read_pb(os.path.join(ds, "output_0.pb"))
        model = onnx.load(os.path.join(d, "model.onnx"))
        out.append((f"{os.path.basename(os.path.dirname(d))}/{os.path.basename(d)}", model,
                    inputs, expected))
    return out


_CACHE = {}


def all_cases():
    if "cases" not in _CACHE:
        cases = _node_cases()
        names = {c[0] for c in cases}
        # A stored node folder of the same name is the same case; read it as well only when new.
        cases += [c for c in _folder_cases() if c[0].split("/")[-1] not in names]
        _CACHE["cases"] = cases
    return _CACHE["cases"]


def case_ids():
    try:
        return [c[0] for c in all_cases()]
    except Exception:  # noqa: BLE001  (an onnx without the backend cases: one failing test)
        return ["collect"]


def with_constant_weights(model, inputs):
    """The model with every graph input but the first made an initializer of the case's value
    (the node cases feed W and B as inputs). Returns (model, the first input's value)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    init = {t.name for t in m.graph.initializer}
    graph_inputs = [vi for vi in m.graph.input if vi.name not in init]
    keep = graph_inputs[0]
    for vi, value in zip(graph_inputs[1:], inputs[1:]):
        m.graph.initializer.append(numpy_helper.from_array(np.asarray(value), vi.name))
    del m.graph.input[:]
    m.graph.input.append(keep)
    return m, np.asarray(inputs[0])


def run_printed_commands(run_script, tmp_path, model, x):
    """shapes_from_onnx.py --dump-tensors on the model, then each reference through the printed
    options. Returns (script result, {impl: y}) ({} when the script wrote no node)."""
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path))
    dump = tmp_path / "tensors"
    res = run_script("shapes_from_onnx.py", str(path), "-o", str(tmp_path / "shapes.csv"),
                     "--dump-tensors", str(dump))
    if res.returncode != 0:
        return res, {}
    with open(dump / "nodes.csv", newline="") as f:
        nodes = list(csv.DictReader(f))
    assert len(nodes) == 1, nodes
    tconv = require_binary("tconv")
    np.save(tmp_path / "x.npy", x)
    ys = {}
    for impl in REFS:
        out = tmp_path / f"y_{impl}.npy"
        cmd = [tconv, "run", "--impl", impl, "--input", str(tmp_path / "x.npy"), "--output",
               str(out)] + nodes[0]["tconv_run"].split()
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=str(tmp_path), timeout=120)
        assert r.returncode == 0, (impl, " ".join(cmd), r.stderr)
        ys[impl] = np.load(out)
    return res, ys


def assert_matches(y, expected, what):
    assert y.shape == expected.shape, (what, y.shape, expected.shape)
    scale = max(float(np.abs(expected).max()), 1.0)
    err = float(np.abs(y.astype(np.float64) - expected.astype(np.float64)).max())
    assert err <= 1e-5 * scale, (what, err, scale)


@pytest.mark.parametrize("name", case_ids())
def test_conformance_case(run_script, tmp_path, name):
    cases = {c[0]: c for c in all_cases()}
    _, model, inputs, expected = cases[name]
    m, x = with_constant_weights(model, inputs)
    res, ys = run_printed_commands(run_script, tmp_path, m, x)
    if x.ndim == 5:
        assert res.returncode == 1, res.stderr
        assert "skipped node" in res.stderr and "3-D ConvTranspose" in res.stderr, res.stderr
        pytest.skip(f"{name}: 3-D ConvTranspose, named as skipped by shapes_from_onnx.py: "
                    + res.stderr.strip().splitlines()[0])
    assert res.returncode == 0, res.stderr
    assert "skipped" not in res.stderr, res.stderr
    for impl, y in ys.items():
        assert y.ndim == x.ndim, (impl, y.shape)  # a 1-D node gives a 3-D output
        assert_matches(y, expected, f"{name} {impl}")


def test_the_cases_are_there():
    """The cases the issue names are among those read: the run above is not vacuous."""
    names = {c[0] for c in all_cases()}
    for n in ("test_convtranspose_1d", "test_convtranspose_output_shape",
              "test_convtranspose_autopad_same", "test_convtranspose_3d",
              "test_convtranspose_pads", "test_convtranspose_kernel_shape"):
        assert n in names, sorted(names)
    assert any("pytorch" in n for n in names), sorted(names)


# ---- random begin/end problems -----------------------------------------------------------------

def random_problem(rng, one_d):
    """Sizes and begin/end padding (end may be negative) of a small random problem, valid by the
    rules of core/problem.cpp; at least one axis outside PyTorch's form."""
    while True:
        axes = 1 if one_d else 2
        g = int(rng.integers(1, 3))
        p = {"n": int(rng.integers(1, 3)), "c_in": g * int(rng.integers(1, 3)),
             "c_out": g * int(rng.integers(1, 3)), "groups": g, "bias": bool(rng.integers(0, 2))}
        p["in"] = [int(rng.integers(1, 6)) for _ in range(axes)]
        p["k"] = [int(rng.integers(1, 5)) for _ in range(axes)]
        p["s"] = [int(rng.integers(1, 4)) for _ in range(axes)]
        p["d"] = [int(rng.integers(1, 3)) for _ in range(axes)]
        p["b"] = [int(rng.integers(0, 4)) for _ in range(axes)]
        p["e"] = [int(rng.integers(-3, 4)) for _ in range(axes)]
        full = [(p["in"][i] - 1) * p["s"][i] + p["d"][i] * (p["k"][i] - 1) + 1
                for i in range(axes)]
        p["out"] = [full[i] - p["b"][i] - p["e"][i] for i in range(axes)]
        pytorch = all(0 <= p["b"][i] - p["e"][i] < max(p["s"][i], p["d"][i]) for i in range(axes))
        if min(p["out"]) >= 1 and not pytorch:
            return p


def problem_arrays(rng, p):
    x = rng.standard_normal([p["n"], p["c_in"]] + p["in"]).astype(np.float32)
    w = rng.standard_normal([p["c_in"], p["c_out"] // p["groups"]] + p["k"]).astype(np.float32)
    b = rng.standard_normal(p["c_out"]).astype(np.float32) if p["bias"] else None
    return x, w, b


def run_refs(tmp_path, p, x, w, b):
    tconv = require_binary("tconv")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    opts = ["--stride", ",".join(map(str, p["s"])), "--dilation", ",".join(map(str, p["d"])),
            "--padding", ",".join(f"{bb}:{ee}" for bb, ee in zip(p["b"], p["e"])),
            "--groups", str(p["groups"])]
    if b is not None:
        np.save(tmp_path / "b.npy", b)
        opts += ["--bias", str(tmp_path / "b.npy")]
    ys = {}
    for impl in REFS:
        out = tmp_path / f"{impl}.npy"
        cmd = [tconv, "run", "--impl", impl, "--input", str(tmp_path / "x.npy"), "--weight",
               str(tmp_path / "w.npy"), "--output", str(out)] + opts
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (" ".join(cmd), r.stderr)
        ys[impl] = np.load(out)
        assert ys[impl].shape == (p["n"], p["c_out"], *p["out"]), (impl, ys[impl].shape, p)
    return ys


@pytest.mark.parametrize("one_d", [False, True])
def test_random_begin_end_references_agree(tmp_path, one_d):
    rng = np.random.default_rng(17 + one_d)
    negative_end = 0
    for _ in range(12):
        p = random_problem(rng, one_d)
        negative_end += min(p["e"]) < 0
        x, w, b = problem_arrays(rng, p)
        ys = run_refs(tmp_path, p, x, w, b)
        for impl in REFS[1:]:
            assert_matches(ys[impl], ys["ref_direct"], f"{impl} vs ref_direct {p}")
    assert negative_end > 0


def onnx_model(p, w, b):
    """The problem as an ONNX ConvTranspose: pads = begin, max(end, 0); a negative end as
    output_padding -end (ONNX: out = full + output_padding - begin - end)."""
    axes = len(p["in"])
    pads = p["b"] + [max(e, 0) for e in p["e"]]
    out_pad = [max(-e, 0) for e in p["e"]]
    inits = [numpy_helper.from_array(w, "W")]
    ins = ["X", "W"]
    if b is not None:
        inits.append(numpy_helper.from_array(b, "B"))
        ins.append("B")
    node = helper.make_node("ConvTranspose", ins, ["Y"], strides=p["s"], dilations=p["d"],
                            pads=pads, output_padding=out_pad, group=p["groups"])
    g = helper.make_graph([node], "g",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT,
                                                         [p["n"], p["c_in"]] + p["in"])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], inits)
    assert axes in (1, 2)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("one_d", [False, True])
def test_random_begin_end_against_onnxruntime(run_script, tmp_path, one_d):
    """onnxruntime's CPU ConvTranspose, and the same model through shapes_from_onnx.py's printed
    command, against the references' output."""
    ort = pytest.importorskip("onnxruntime", minversion="1.13")
    rng = np.random.default_rng(29 + one_d)
    checked = 0
    for _ in range(10):
        p = random_problem(rng, one_d)
        # onnxruntime takes output_padding below the stride only (the negative ends here).
        if any(-e >= s for e, s in zip(p["e"], p["s"])):
            continue
        x, w, b = problem_arrays(rng, p)
        model = onnx_model(p, w, b)
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        y_ort = sess.run(None, {"X": x})[0]
        ys = run_refs(tmp_path, p, x, w, b)
        for impl, y in ys.items():
            assert_matches(y, y_ort, f"{impl} vs onnxruntime {p}")
        res, printed = run_printed_commands(run_script, tmp_path, model, x)
        assert res.returncode == 0, res.stderr
        for impl, y in printed.items():
            assert_matches(y, y_ort, f"printed {impl} vs onnxruntime {p}")
        checked += 1
    assert checked >= 3
