#!/usr/bin/env python3
"""Transposed-convolution shapes of an ONNX model, as a shapes file for tconv_bench.

usage: shapes_from_onnx.py MODEL.onnx [--batch N] [--dim NAME=VALUE ...] [-o shapes.csv]
                           [--dump-tensors DIR]

Every ConvTranspose node of the model's main graph (local functions are inlined first), 2-D and
1-D (a 1-D node becomes H = 1: k_h = stride_h = dil_h = 1, pad_h = out_pad_h = 0), is read as one
problem of this project's model (core/problem.hpp): PyTorch's ConvTranspose2d, with begin and end
padding per axis where PyTorch's symmetric padding cannot say it:

  input shape   from ONNX shape inference (onnx.shape_inference, with data propagation), after
                giving the graph inputs' symbolic or unknown batch dimension (axis 0) the value
                of --batch (default 1) and each symbolic dimension named in --dim its value
  C_in          the input's channel count; the weight (C_in, C_out/group, k...) must agree
  C_out, k      from the weight: an initializer, a Constant node, or failing those its inferred
                shape (then --dump-tensors has no values to write for that node)
  bias          whether the node has a third input
  strides, dilations, group, output_padding, pads, output_shape, auto_pad
                resolved as the ONNX operator specification (ConvTranspose, opsets 1/11/22)
                defines them:
                  full[i]  = stride[i] * (in[i] - 1) + ((k[i] - 1) * dilation[i] + 1)
                  NOTSET without output_shape: the pads as given (default 0)
                  VALID:   pads 0
                  with output_shape, or SAME_UPPER / SAME_LOWER (target: in[i] * stride[i]
                  unless output_shape is given): total[i] = full[i] + output_padding[i] -
                  target[i], split as the spec's equations do: SAME_UPPER begin = total // 2,
                  end = total - begin; otherwise begin = total - total // 2, end = total // 2.
                  A negative total with output_shape (more outputs asked for than the
                  operation gives: the extra ones at the end, zeros plus bias, as ONNX's
                  expected output for test_convtranspose_output_shape has them) is begin 0,
                  end = total, for NOTSET and SAME_LOWER when output_shape - full < stride
                  (onnxruntime refuses more; so does ONNX's reference implementation).
                  Within that it is PyTorch's output_padding. Skipped: SAME_UPPER
                  with a negative total, and SAME_* without output_shape whose target passes
                  the full output (kernel < stride): onnxruntime and ONNX's reference
                  implementation give different outputs there, the specification leaves the
                  split undefined.
                  out[i]   = full[i] + output_padding[i] - begin[i] - end[i]
                Output element o is full-output element o + begin. The problem has begin
                padding begin[i] and end padding end[i] - output_padding[i] (core/problem.hpp:
                an end below zero adds outputs at the end). Where that is PyTorch's form,
                padding = begin and output_padding = output_padding + begin - end in
                [0, max(stride, dilation)), the row is written in PyTorch's terms as before.
                The output must be at least 1 element and begin >= 0.

A node that cannot be expressed (3-D, an input shape inference cannot give, a weight of unknown
shape, ...) is named on stderr with the reason, one line per node; the others are still written.
Nodes with the same problem (bias included) become one row, named after the first of them, with
`count` = how many nodes share it. Output: the shapes file that `tconv_bench --shapes-file` reads
(header: name, n, c_in, h_in, w_in, c_out, k, stride, pad, out_pad, dil, groups, bias, count, and
pad_end last where a row has begin/end padding outside PyTorch's form: pad is then the begin and
pad_end the end padding), to -o (written atomically) or to stdout.

--dump-tensors DIR writes, for every expressed node whose weight is a constant, the weight as
DIR/<node>.weight.npy in the node's own rank (C_in, C_out/group, kH, kW; 1-D: C_in, C_out/group,
K) and the bias as DIR/<node>.bias.npy, in float32 (float64 stays float64), and DIR/nodes.csv:
per node, its shape row, the files and the `tconv run` options that reproduce the node with those
tensors on an input of the node's rank (a 1-D node: a 3-D input, one value per option), e.g.
  tconv run --impl ref_direct --input x.npy --weight DIR/up1.weight.npy --bias DIR/up1.bias.npy \\
            --stride 2,2 --padding 1,1 --output-padding 1,1 --dilation 1,1 --groups 1 --output y.npy
begin/end padding outside PyTorch's form is written --padding B:E,B:E (B:E for 1-D), without
--output-padding.

Errors (missing or unreadable model, no ConvTranspose node, none expressible, bad options) are
one line on stderr and exit status 1, and no output file is written.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tconv_results as tr  # noqa: E402

PROG = "shapes_from_onnx.py"


class Skip(Exception):
    """A node this project's problem model cannot express; the message is the reason."""


# ---- the ONNX ConvTranspose attributes, resolved (pure: no onnx import) -------------------------

def resolve_pads(in_sizes, kernel, strides, dilations, output_padding, pads, output_shape,
                 auto_pad):
    """(begin, end, out) per spatial axis, by the ONNX ConvTranspose specification. Raises Skip
    on attribute values the specification does not allow."""
    nd = len(in_sizes)
    if auto_pad not in ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"):
        raise Skip(f"auto_pad = '{auto_pad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID")
    full = [strides[i] * (in_sizes[i] - 1) + (kernel[i] - 1) * dilations[i] + 1
            for i in range(nd)]
    if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        if output_shape is not None:
            target = list(output_shape)
        else:
            target = [in_sizes[i] * strides[i] for i in range(nd)]
        total = [full[i] + output_padding[i] - target[i] for i in range(nd)]
        for i, t in enumerate(total):
            if t >= 0:
                continue
            what = (f"{'output_shape' if output_shape is not None else auto_pad} asks for "
                    f"{target[i]} outputs on axis {i}, more than the "
                    f"{full[i] + output_padding[i]} the transposed convolution gives (total "
                    f"padding {t} < 0)")
            if output_shape is None or auto_pad == "SAME_UPPER":
                raise Skip(f"{what}: the specification does not define how a negative total is "
                           f"split{' with ' + auto_pad if auto_pad != 'NOTSET' else ''}, and "
                           f"onnxruntime and ONNX's reference implementation differ there")
            if target[i] - full[i] >= strides[i]:
                raise Skip(f"{what}: output_shape {target[i]} passes the full output "
                           f"{full[i]} by stride {strides[i]} or more, which onnxruntime refuses "
                           f"(the input it implies is larger) and ONNX's reference "
                           f"implementation too")
        if auto_pad == "SAME_UPPER":
            begin = [t // 2 for t in total]
            end = [total[i] - begin[i] for i in range(nd)]
        else:
            # -stride < total < 0: begin 0, end = total (the extra outputs at the end).
            begin = [t - t // 2 if t >= 0 else 0 for t in total]
            end = [t // 2 if t >= 0 else t for t in total]
    elif auto_pad == "VALID":
        begin, end = [0] * nd, [0] * nd
    else:
        begin, end = list(pads[:nd]), list(pads[nd:])
    out = [full[i] + output_padding[i] - begin[i] - end[i] for i in range(nd)]
    return begin, end, out


def _int_list(v) -> bool:
    """An attribute that must be INTS: a list of Python ints (get_attribute_value gives floats,
    strings, tensors or None for attributes of another type, whatever their name)."""
    return isinstance(v, (list, tuple)) and all(isinstance(e, int) for e in v)


def to_problem(x_shape, w_shape, attrs, has_bias):
    """The problem dict (PROBLEM_FIELDS + bias) of a ConvTranspose node with input shape x_shape
    (N, C, spatial...) and weight shape w_shape (C, M/group, k...), attrs as read from the node
    (missing ones absent). Raises Skip with the reason when it cannot be expressed."""
    nd = len(x_shape) - 2
    if nd == 3:
        raise Skip("3-D ConvTranspose (this benchmark covers 1-D and 2-D)")
    if nd not in (1, 2):
        raise Skip(f"input of rank {len(x_shape)} (expected 3 for 1-D or 4 for 2-D)")
    if len(w_shape) != nd + 2:
        raise Skip(f"weight of rank {len(w_shape)} for a {nd}-D input")
    n, c = x_shape[0], x_shape[1]
    group = attrs.get("group", 1)
    if not isinstance(group, int):
        raise Skip(f"group = {group!r} is not an integer")
    if group < 1:
        raise Skip(f"group = {group}")
    if w_shape[0] != c:
        raise Skip(f"weight dim 0 = {w_shape[0]} but the input has {c} channels")
    if c % group:
        raise Skip(f"{c} input channels not divisible by group = {group}")
    kernel = list(w_shape[2:])
    ks = attrs.get("kernel_shape")
    if ks is not None and not _int_list(ks):
        raise Skip(f"kernel_shape = {ks!r} is not a list of integers")
    if ks is not None and list(ks) != kernel:
        raise Skip(f"kernel_shape {list(ks)} differs from the weight's {kernel}")

    def vec(name, default):
        v = attrs.get(name)
        if v is None:
            return [default] * nd
        if not _int_list(v):
            raise Skip(f"{name} = {v!r} is not a list of integers")
        v = list(v)
        if len(v) != nd:
            raise Skip(f"{name} = {v} has {len(v)} values for {nd} spatial axes")
        return v

    strides = vec("strides", 1)
    dilations = vec("dilations", 1)
    output_padding = vec("output_padding", 0)
    pads = attrs.get("pads")
    if pads is not None and not _int_list(pads):
        raise Skip(f"pads = {pads!r} is not a list of integers")
    pads = [0] * (2 * nd) if pads is None else list(pads)
    if len(pads) != 2 * nd:
        raise Skip(f"pads = {pads} has {len(pads)} values for {nd} spatial axes")
    output_shape = attrs.get("output_shape")
    if output_shape is not None:
        if not _int_list(output_shape):
            raise Skip(f"output_shape = {output_shape!r} is not a list of integers")
        output_shape = list(output_shape)
        if len(output_shape) == nd + 2:  # some exporters include N and C
            output_shape = output_shape[2:]
        if len(output_shape) != nd:
            raise Skip(f"output_shape = {output_shape} has {len(output_shape)} values for "
                       f"{nd} spatial axes")
    for name, v, lo in (("strides", strides, 1), ("dilations", dilations, 1),
                        ("output_padding", output_padding, 0)):
        if any(e < lo for e in v):
            raise Skip(f"{name} = {v}: values must be >= {lo}")
    auto_pad = attrs.get("auto_pad", "NOTSET") or "NOTSET"
    if not isinstance(auto_pad, str):
        raise Skip(f"auto_pad = {auto_pad!r} is not a string")
    if auto_pad == "NOTSET" and output_shape is None and any(e < 0 for e in pads):
        raise Skip(f"negative pads {pads}")
    in_sizes = list(x_shape[2:])
    begin, end, out = resolve_pads(in_sizes, kernel, strides, dilations, output_padding, pads,
                                   output_shape, auto_pad)
    axes = ["W"] if nd == 1 else ["H", "W"]
    pt_pad, pt_out_pad = [], []
    for i in range(nd):
        if out[i] < 1:
            raise Skip(f"output size {out[i]} on {axes[i]} (pads begin {begin[i]}, end {end[i]})")
        if begin[i] < 0:
            raise Skip(f"negative begin pad {begin[i]} on {axes[i]} ({auto_pad}"
                       f"{', output_shape' if output_shape is not None else ''}): an output "
                       f"before the full output is not part of the problem model")
        # The problem's end padding is end - output_padding; its fields hold begin and
        # begin - end (core/problem.hpp), which is PyTorch's (padding, output_padding) where
        # that form holds.
        pt_pad.append(begin[i])
        pt_out_pad.append(output_padding[i] + begin[i] - end[i])
    if nd == 1:  # H = 1
        in_sizes = [1] + in_sizes
        kernel = [1] + kernel
        strides, dilations = [1] + strides, [1] + dilations
        pt_pad, pt_out_pad = [0] + pt_pad, [0] + pt_out_pad
    p = {"n": n, "c_in": c, "h_in": in_sizes[0], "w_in": in_sizes[1], "c_out": w_shape[1] * group,
         "k_h": kernel[0], "k_w": kernel[1], "stride_h": strides[0], "stride_w": strides[1],
         "pad_h": pt_pad[0], "pad_w": pt_pad[1], "out_pad_h": pt_out_pad[0],
         "out_pad_w": pt_out_pad[1], "dil_h": dilations[0], "dil_w": dilations[1],
         "groups": group, "bias": bool(has_bias)}
    if not tr.pytorch_pads(p):
        p["begin_end"] = True
    p["one_d"] = nd == 1
    why = tr.validate_problem(p)
    if why:
        raise Skip(f"not a valid problem here: {why}")
    return p


def group_shapes(nodes):
    """[(node_name, problem)] -> one shape per distinct problem, in order of first appearance,
    named after its first node (made unique), with count. Returns (shapes, the shape name of
    each input item in order)."""
    by_key, shapes, used, item_shape = {}, [], set(), []
    for node_name, p in nodes:
        key = tr.problem_key(p, p["bias"])
        if key in by_key:
            by_key[key]["count"] += 1
        else:
            base = tr.shape_name_from(node_name, f"convtranspose{len(shapes) + 1}")
            name, i = base, 2
            while name in used:
                name, i = f"{base}_{i}", i + 1
            used.add(name)
            s = dict(p, name=name, count=1)
            by_key[key] = s
            shapes.append(s)
        item_shape.append(by_key[key]["name"])
    return shapes, item_shape


# ---- reading the model (onnx) --------------------------------------------------------------------

def import_onnx():
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise tr.UserError("the 'onnx' package is not installed (python3 -m pip install onnx, "
                           "or -r scripts/requirements.txt)") from None
    return onnx


def load_model(path):
    """The model of an .onnx file (its external data is not read here): the file must be a
    regular file that fits in memory (protobuf holds it several times over while parsing)."""
    import_onnx()
    tr.check_input_file(path, "ONNX model", 4)
    with open(path, "rb") as f:
        data = f.read()
    return parse_model(data, path)


def parse_model(data: bytes, source: str):
    """The ModelProto of `data` (what an .onnx file holds); UserError naming `source` for anything
    that is not a model with graph nodes. The fuzz target of fuzz/python/ calls this."""
    onnx = import_onnx()
    try:
        # External data (weights in other files, any model over 2 GB) is read only for
        # --dump-tensors: shapes come from the tensors' dims, and a ModelProto that carried
        # more than 2 GB could not go through shape inference.
        model = onnx.load_model_from_string(data)
    except Exception as e:  # protobuf's DecodeError and friends
        msg = " ".join(str(e).split()) or type(e).__name__
        raise tr.UserError(f"{source}: not a readable ONNX model: {msg}") from None
    if not model.HasField("graph") or len(model.graph.node) == 0:
        raise tr.UserError(f"{source}: not a readable ONNX model (no graph nodes)")
    return model


def tensor_array(t, base_dir, what):
    """numpy_helper.to_array(t), after the tensor's dims have been compared with the bytes it
    actually carries (its raw_data, its typed field, or its external file) and with the host's
    memory: a TensorProto's dims are outside input and must not size memory by themselves."""
    import onnx
    from onnx import numpy_helper

    dims = [int(d) for d in t.dims]
    if any(d < 0 for d in dims):
        raise tr.UserError(f"{what}: negative dimension in {dims}")
    count = math.prod(dims)
    try:
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
        field = onnx.helper.tensor_dtype_to_field(t.data_type)
    except Exception:  # an unknown or undefined data_type
        raise tr.UserError(f"{what}: unsupported tensor data type {t.data_type}") from None
    # Strings, and the sub-byte types whose raw_data packs two elements a byte.
    packed = {getattr(onnx.TensorProto, n, -1) for n in ("INT4", "UINT4", "FLOAT4E2M1", "INT2",
                                                          "UINT2")}
    if t.data_type == onnx.TensorProto.STRING or t.data_type in packed or itemsize == 0:
        raise tr.UserError(f"{what}: not a numeric tensor (data type {t.data_type})")
    need = count * itemsize
    if t.data_location == onnx.TensorProto.EXTERNAL:
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        full = os.path.normpath(os.path.join(base_dir, loc))
        if not loc or os.path.isabs(loc) or not full.startswith(os.path.normpath(base_dir) + os.sep):
            raise tr.UserError(f"{what}: external data location '{loc}' is not a file beside the "
                               f"model")
        try:
            offset = int(info.get("offset", "0") or 0)
            length = int(info["length"]) if info.get("length") else None
        except ValueError:
            raise tr.UserError(f"{what}: malformed external data offset/length") from None
        size = tr.check_input_file(full, "external data file")
        have = size - offset if length is None else length
        if offset < 0 or offset > size or (length is not None and offset + length > size):
            raise tr.UserError(f"{what}: external data offset {offset} and length {length} lie "
                               f"outside {full} ({size} bytes)")
    elif t.HasField("raw_data"):
        have = len(t.raw_data)
    else:
        # Typed fields hold one entry per element (complex types two); fp16/bf16 and the small
        # integer types ride in int32_data.
        per = 2 if t.data_type in (onnx.TensorProto.COMPLEX64, onnx.TensorProto.COMPLEX128) else 1
        have = len(getattr(t, field)) * itemsize // per
    if have != need:
        raise tr.UserError(f"{what}: dims {dims} need {need} bytes of data, the tensor holds "
                           f"{have}")
    # The array, then its float64/float32 copy for the .npy file.
    tr.require_host_memory(need + count * 8, what)
    try:
        return numpy_helper.to_array(t, base_dir)
    except Exception as e:  # onnx's own checks of what it reads
        raise tr.UserError(f"{what}: unreadable tensor ({' '.join(str(e).split())})") from None


def _set_dims(model, batch, dims):
    """Graph inputs: a symbolic or unknown axis 0 becomes `batch`, symbolic dims named in `dims`
    their value."""
    init = {i.name for i in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name in init or not vi.type.HasField("tensor_type"):
            continue
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            continue
        for axis, d in enumerate(tt.shape.dim):
            if d.HasField("dim_param") and d.dim_param in dims:
                d.dim_value = dims[d.dim_param]
            elif axis == 0 and not d.HasField("dim_value"):
                d.dim_value = batch


def _shapes_by_name(model):
    """Every tensor name -> list of dims (int, or a str for a symbolic/unknown dim), from the
    inferred model."""
    out = {}

    def add(vi):
        if not vi.type.HasField("tensor_type") or not vi.type.tensor_type.HasField("shape"):
            return
        dims = []
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField("dim_value"):
                dims.append(int(d.dim_value))
            elif d.HasField("dim_param"):
                dims.append(d.dim_param)
            else:
                dims.append("?")
        out[vi.name] = dims

    g = model.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        add(vi)
    for t in g.initializer:
        out[t.name] = [int(d) for d in t.dims]
    return out


def _constants(model):
    """Constant tensors by name (TensorProto): initializers and Constant nodes' values."""
    from onnx import numpy_helper

    consts = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and node.output:
            for a in node.attribute:
                if a.name == "value":
                    consts[node.output[0]] = a.t
    return consts, numpy_helper


def _attrs(node):
    import onnx

    out = {}
    for a in node.attribute:
        out[a.name] = onnx.helper.get_attribute_value(a)
        if isinstance(out[a.name], bytes):
            out[a.name] = out[a.name].decode("utf-8", "replace")
    return out


def _subgraph_conv_transposes(graph, where=""):
    """Names of ConvTranspose nodes inside subgraphs (If/Loop/Scan bodies) of graph."""
    found = []
    for node in graph.node:
        for a in node.attribute:
            subs = ([a.g] if a.HasField("g") else []) + list(a.graphs)
            for sg in subs:
                for n in sg.node:
                    if n.op_type == "ConvTranspose" and n.domain in ("", "ai.onnx"):
                        found.append((n.name or "(unnamed)", node.name or node.op_type))
                found += _subgraph_conv_transposes(sg)
    return found


def extract(model, batch=1, dims=None, warn=None, base_dir=""):
    """Reads every ConvTranspose node. Returns (nodes, skipped): nodes = [(name, problem,
    weight, bias)] where weight and bias are None (not a constant) or a function returning the
    numpy array (external data read from base_dir), skipped = [(name, reason)]."""
    import onnx

    warn = warn or (lambda msg: None)
    dims = dict(dims or {})
    if model.functions:
        try:
            from onnx import inliner
            model = inliner.inline_local_functions(model)
        except Exception as e:  # older onnx, or a function it cannot inline
            warn(f"local functions not inlined ({' '.join(str(e).split())}): ConvTranspose "
                 f"nodes inside them are not read")
    m = onnx.ModelProto()
    m.CopyFrom(model)
    _set_dims(m, batch, dims)
    try:
        m = onnx.shape_inference.infer_shapes(m, check_type=False, strict_mode=False,
                                              data_prop=True)
    except Exception as e:
        warn(f"shape inference failed ({' '.join(str(e).split())}); only the shapes the "
             f"model itself records are used")
    shapes = _shapes_by_name(m)
    consts, _ = _constants(m)

    nodes, skipped = [], []
    index = 0
    for node in m.graph.node:
        if node.op_type != "ConvTranspose" or node.domain not in ("", "ai.onnx"):
            continue
        index += 1
        name = node.name or f"ConvTranspose_{index}"
        try:
            if len(node.input) < 2 or not node.input[0] or not node.input[1]:
                raise Skip("fewer than two inputs")
            x = shapes.get(node.input[0])
            if x is None:
                raise Skip(f"shape inference gives no shape for its input '{node.input[0]}' "
                           f"(set symbolic dimensions with --dim NAME=VALUE)")
            x = list(x)
            if len(x) >= 1 and not isinstance(x[0], int):
                x[0] = batch  # the batch: what --batch sets
            unknown = [f"axis {i} = '{d}'" for i, d in enumerate(x) if not isinstance(d, int)]
            if unknown:
                raise Skip(f"input '{node.input[0]}' has dimensions inference cannot give: "
                           f"{', '.join(unknown)} (set symbolic ones with --dim NAME=VALUE)")
            if len(x) == 5:
                raise Skip("3-D ConvTranspose (this benchmark covers 1-D and 2-D)")
            w_get = None
            if node.input[1] in consts:
                w_t = consts[node.input[1]]
                w = [int(d) for d in w_t.dims]
                w_get = (lambda t, what: lambda: tensor_array(t, base_dir, what))(
                    w_t, f"node '{name}': weight '{node.input[1]}'")
            else:
                w = shapes.get(node.input[1])
                if w is None or any(not isinstance(d, int) for d in w):
                    raise Skip(f"the shape of its weight '{node.input[1]}' is unknown")
            has_bias = len(node.input) >= 3 and node.input[2] != ""
            p = to_problem(x, w, _attrs(node), has_bias)
            b_get = None
            if has_bias and node.input[2] in consts:
                b_get = (lambda t, what: lambda: tensor_array(t, base_dir, what))(
                    consts[node.input[2]], f"node '{name}': bias '{node.input[2]}'")
            nodes.append((name, p, w_get, b_get))
        except Skip as e:
            skipped.append((name, str(e)))
    for name, parent in _subgraph_conv_transposes(m.graph):
        skipped.append((name, f"inside a subgraph of node '{parent}' (only the main graph is "
                              f"read)"))
    return nodes, skipped


# ---- --dump-tensors ------------------------------------------------------------------------------

def run_options(p):
    """The `tconv run` options of a problem (the tensors give the sizes): h,w pairs, or one
    value each for a 1-D node (a 3-D input); begin/end padding outside PyTorch's form as B:E per
    axis, without --output-padding."""
    axes = ("w",) if p.get("one_d") else ("h", "w")

    def opt(name, fmt):
        return f"--{name} " + ",".join(fmt(a) for a in axes)

    if tr.pytorch_pads(p):
        pads = (opt("padding", lambda a: str(p[f"pad_{a}"])) + " "
                + opt("output-padding", lambda a: str(p[f"out_pad_{a}"])))
    else:
        pads = opt("padding", lambda a: f"{p[f'pad_{a}']}:{tr.pad_end(p, a)}")
    return (f"{opt('stride', lambda a: str(p[f'stride_{a}']))} {pads} "
            f"{opt('dilation', lambda a: str(p[f'dil_{a}']))} --groups {p['groups']}")


def _npy_bytes(a):
    import io

    import numpy as np

    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def dump_tensors(folder, nodes, item_shape, warn):
    """Writes the weights and biases of `nodes` into folder, and folder/nodes.csv."""
    import csv
    import io

    import numpy as np

    if os.path.exists(folder) and not os.path.isdir(folder):
        raise tr.UserError(f"--dump-tensors {folder}: exists and is not a folder")
    os.makedirs(folder, exist_ok=True)
    cols = ["node", "shape", "weight", "bias"] + tr.PROBLEM_FIELDS + ["has_bias", "tconv_run"]
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(cols)
    used = set()
    for (name, p, w_get, b_get), shape_name in zip(nodes, item_shape):
        if w_get is None:
            warn(f"node '{name}': its weight is not a constant, no tensors written")
            continue
        base = tr.shape_name_from(name, "node")
        fname, i = base, 2
        while fname in used:
            fname, i = f"{base}_{i}", i + 1
        used.add(fname)
        w = w_get()
        dt = np.float64 if w.dtype == np.float64 else np.float32
        # The node's own rank: a 1-D weight stays (C_in, C_out/group, K), so the printed command
        # runs the node on a 3-D input as ConvTranspose1d.
        w_shape = (p["c_in"], p["c_out"] // p["groups"]) + \
            ((p["k_w"],) if p.get("one_d") else (p["k_h"], p["k_w"]))
        w4 = np.ascontiguousarray(w.astype(dt).reshape(w_shape))
        wfile = f"{fname}.weight.npy"
        tr.write_text_atomic(os.path.join(folder, wfile), _npy_bytes(w4), "wb")
        bfile = ""
        if p["bias"]:
            if b_get is None:
                warn(f"node '{name}': its bias is not a constant, only the weight written")
            else:
                bfile = f"{fname}.bias.npy"
                b1 = np.ascontiguousarray(b_get().astype(dt).reshape(p["c_out"]))
                tr.write_text_atomic(os.path.join(folder, bfile), _npy_bytes(b1), "wb")
        opts = f"--weight {os.path.join(folder, wfile)}"
        if bfile:
            opts += f" --bias {os.path.join(folder, bfile)}"
        wr.writerow([name, shape_name, wfile, bfile] + [p[f] for f in tr.PROBLEM_FIELDS]
                    + [int(p["bias"]), f"{opts} {run_options(p)}"])
    tr.write_text_atomic(os.path.join(folder, "nodes.csv"), buf.getvalue())


# ---- command line --------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog=PROG,
        description="Writes the ConvTranspose shapes of an ONNX model as a tconv_bench shapes "
                    "file (one row per distinct shape, with the count of nodes sharing it).")
    ap.add_argument("model", metavar="MODEL.onnx")
    ap.add_argument("--batch", type=int, default=1, metavar="N",
                    help="the batch size where the model's is symbolic or unknown (default 1)")
    ap.add_argument("--dim", action="append", default=[], metavar="NAME=VALUE",
                    help="value of a symbolic dimension of the graph inputs (repeatable)")
    ap.add_argument("-o", "--output", metavar="shapes.csv",
                    help="write the shapes file here (atomically); default: stdout")
    ap.add_argument("--dump-tensors", metavar="DIR",
                    help="write each node's weight and bias as .npy, and DIR/nodes.csv")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.batch < 1:
        raise tr.UserError(f"--batch {args.batch}: must be >= 1")
    dims = {}
    for d in args.dim:
        name, eq, value = d.partition("=")
        if not eq or not name.strip() or not value.strip().isdigit() or int(value) < 1:
            raise tr.UserError(f"--dim '{d}': expected NAME=VALUE with VALUE >= 1")
        dims[name.strip()] = int(value)
    if args.output and os.path.isdir(args.output):
        raise tr.UserError(f"-o {args.output}: is a directory")

    def warn(msg):
        print(f"{PROG}: {msg}", file=sys.stderr)

    model = load_model(args.model)
    nodes, skipped = extract(model, args.batch, dims, warn,
                             os.path.dirname(os.path.abspath(args.model)))
    for name, why in skipped:
        warn(f"skipped node '{name}': {why}")
    total = len(nodes) + len(skipped)
    if total == 0:
        raise tr.UserError(f"{args.model}: no ConvTranspose node")
    if not nodes:
        raise tr.UserError(f"{args.model}: none of its {total} ConvTranspose node(s) can be "
                           f"expressed (reasons above)")
    shapes, item_shape = group_shapes([(n, p) for n, p, _, _ in nodes])
    text = tr.shapes_file_text(shapes)
    if args.dump_tensors:
        dump_tensors(args.dump_tensors, nodes, item_shape, warn)
    if args.output:
        tr.write_text_atomic(args.output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    warn(f"{len(nodes)} of {total} ConvTranspose node(s) -> {len(shapes)} shape(s)"
         + (f" in {args.output}" if args.output else "")
         + (f", {len(skipped)} skipped" if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(tr.run_cli(main))
