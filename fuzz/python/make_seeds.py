"""Writes the seed corpus of the atheris targets (fuzz/python/corpus): small ONNX models with
ConvTranspose nodes as exporters write them, a results CSV and shapes files. Run once when the
readers learn a new form; the files are committed."""

import io
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import tconv_results as tr  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")


def write(kind, name, data):
    os.makedirs(os.path.join(CORPUS, kind), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(CORPUS, kind, name), mode) as f:
        f.write(data)


def model(x_shape, w, attrs, bias=None, raw=True, name="ct"):
    w_t = numpy_helper.from_array(w, "w")
    if not raw:
        w_t = helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.flatten().tolist())
    inits = [w_t]
    inputs = ["x", "w"]
    if bias is not None:
        inits.append(numpy_helper.from_array(bias, "b"))
        inputs.append("b")
    node = helper.make_node("ConvTranspose", inputs, ["y"], name=name, **attrs)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    return m.SerializeToString()


rng = np.random.default_rng(0)
write("onnx_model", "up2x_bias", model([1, 4, 5, 5], rng.standard_normal((4, 2, 3, 3), np.float32),
                                        {"strides": [2, 2], "pads": [1, 1, 1, 1],
                                         "output_padding": [1, 1]},
                                        bias=rng.standard_normal(2, np.float32)))
write("onnx_model", "one_d_typed", model([2, 3, 7], rng.standard_normal((3, 4, 5), np.float32),
                                          {"strides": [3], "dilations": [2]}, raw=False))
write("onnx_model", "same_upper", model(["N", 2, 4, 4], rng.standard_normal((2, 2, 2, 2), np.float32),
                                         {"strides": [2, 2], "auto_pad": "SAME_UPPER", "group": 1}))
write("onnx_model", "output_shape", model([1, 2, 3, 3], rng.standard_normal((2, 1, 3, 3), np.float32),
                                           {"strides": [2, 2], "output_shape": [8, 8], "group": 2}))

write("shapes_file", "mixed", "# a comment\nname,n,c_in,h_in,w_in,l,c_out,k,stride,pad,out_pad,dil,"
      "groups,bias,count\na,1,16,8,8,,8,4,2,1,0,1,1,1,2\nb,2,4,,,9,6,3,2,1,1,1,2,0,1\n")
write("shapes_file", "pad_end", "c_in,h_in,w_in,c_out,k,stride,pad,pad_end\n2,3,3,3,3,2,1,-1\n"
      "4,5,5,4,3:1,1,0:1,0:2\n")

cols = tr.CONTRACT_COLUMNS + ["setup_ms", "flops", "min_bytes", "bias", "count"]
row = {c: "" for c in cols}
row.update(suite="user", shape="up2x", n="1", c_in="64", h_in="32", w_in="32", c_out="32",
           k_h="4", k_w="4", stride_h="2", stride_w="2", pad_h="1", pad_w="1", out_pad_h="0",
           out_pad_w="0", dil_h="1", dil_w="1", groups="1", h_out="64", w_out="64", dtype="fp32",
           layout="nchw", impl="gather", status="passed", time_ms_median="0.01", reps="20",
           gpu="NVIDIA H100", flops="67108864", min_bytes="917504", bias="0", count="1")
buf = io.StringIO()
buf.write(",".join(cols) + "\n")
buf.write(",".join(row[c] for c in cols) + "\n")
row.update(impl="scatter", status="not_supported", reason="\"fp32 only, \"\"atomicAdd\"\"\"",
           dtype="fp16", time_ms_median="")
buf.write(",".join(row[c] for c in cols) + "\n")
write("results_csv", "two_rows", buf.getvalue())
write("results_csv", "minimal", "suite,shape,impl,time_ms_median\nnetworks,a,gather,1.5\n")
