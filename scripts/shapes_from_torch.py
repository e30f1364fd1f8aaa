#!/usr/bin/env python3
"""Transposed-convolution shapes of a PyTorch model, as a shapes file for tconv_bench.

usage: shapes_from_torch.py MODULE:FACTORY --input-shape N,C,H,W [-o shapes.csv]

MODULE is an importable module name (the current folder is on the path) or a path to a .py file;
FACTORY is a callable in it that takes no arguments and returns a torch.nn.Module (a class with
a no-argument constructor will do). The model is put in eval mode and run once on CPU, under
torch.no_grad, on random data of --input-shape (float32; any rank: N,C,L for a 1-D model), with
forward hooks on every nn.ConvTranspose1d and nn.ConvTranspose2d. Each call of such a module
(a module called twice counts twice) is one problem of this project's model (PyTorch's
ConvTranspose2d; a 1-D call becomes H = 1): sizes from the call's input, the module's stride,
padding, dilation, groups and bias, and output_padding from the call's actual output size (so a
forward(x, output_size=...) is read as it ran). Calls with the same problem (bias included)
become one row named after the first module (its qualified name in the model), with `count` =
the number of calls. nn.ConvTranspose3d calls, and ConvTranspose modules whose padding_mode is
not 'zeros', are named on stderr as skipped; torch.nn.functional.conv_transpose* calls made
outside such modules are not seen.

Output: the shapes file that `tconv_bench --shapes-file` reads (as shapes_from_onnx.py writes
it), to -o (written atomically) or to stdout. Errors (torch missing, a module or factory that
cannot be loaded, a forward pass that fails, no ConvTranspose call) are one line on stderr and
exit status 1, and no output file is written.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tconv_results as tr  # noqa: E402
from shapes_from_onnx import group_shapes  # noqa: E402

PROG = "shapes_from_torch.py"


def parse_input_shape(text):
    try:
        dims = [int(t) for t in text.split(",")]
    except ValueError:
        raise tr.UserError(f"--input-shape '{text}': expected integers like 1,3,64,64") from None
    if len(dims) < 1 or any(d < 1 for d in dims):
        raise tr.UserError(f"--input-shape '{text}': expected positive integers like 1,3,64,64")
    return dims


def load_factory(spec):
    mod_name, colon, attr = spec.rpartition(":")
    if not colon or not mod_name or not attr:
        raise tr.UserError(f"'{spec}': expected MODULE:FACTORY (e.g. mymodels:make_decoder or "
                           f"path/to/models.py:make_decoder)")
    try:
        if mod_name.endswith(".py") or os.sep in mod_name:
            if not os.path.isfile(mod_name):
                raise tr.UserError(f"{mod_name}: no such file")
            name = "_tconv_user_" + tr.safe_name(os.path.basename(mod_name)[:-3]).replace("-", "_")
            loader_spec = importlib.util.spec_from_file_location(name, mod_name)
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = module
            sys.path.insert(0, os.path.dirname(os.path.abspath(mod_name)))
            loader_spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(mod_name)
    except tr.UserError:
        raise
    except Exception as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        raise tr.UserError(f"cannot import '{mod_name}': {type(e).__name__}: {msg}") from None
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise tr.UserError(f"'{mod_name}' has no callable '{attr}'")
    return factory


def problem_of_call(module, x_shape, y_shape, is_1d):
    """The problem dict (PROBLEM_FIELDS + bias) of one ConvTranspose1d/2d call."""
    def two(v):
        v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
        return (v * 2)[:2] if len(v) == 1 else v

    if is_1d:
        (n, c, w_in), w_out = x_shape, y_shape[-1]
        h_in, h_out = 1, 1
        k = (1, module.kernel_size[0])
        s = (1, module.stride[0])
        pad = (0, module.padding[0])
        dil = (1, module.dilation[0])
    else:
        n, c, h_in, w_in = x_shape
        h_out, w_out = y_shape[-2], y_shape[-1]
        k, s, pad, dil = (two(module.kernel_size), two(module.stride), two(module.padding),
                          two(module.dilation))
    p = {"n": int(n), "c_in": int(c), "h_in": int(h_in), "w_in": int(w_in),
         "c_out": int(module.out_channels), "k_h": int(k[0]), "k_w": int(k[1]),
         "stride_h": int(s[0]), "stride_w": int(s[1]), "pad_h": int(pad[0]), "pad_w": int(pad[1]),
         "out_pad_h": 0, "out_pad_w": 0, "dil_h": int(dil[0]), "dil_w": int(dil[1]),
         "groups": int(module.groups), "bias": module.bias is not None}
    # output_padding as it ran (forward's output_size changes it): from the output size.
    p["out_pad_h"] = int(h_out) - tr.h_out(p)
    p["out_pad_w"] = int(w_out) - tr.w_out(p)
    return p


def extract(model, input_shape):
    """Runs the model once; returns (calls, skipped): calls = [(name, problem)], skipped =
    [(name, reason)]."""
    import torch
    from torch import nn

    names = {m: (n or type(m).__name__) for n, m in model.named_modules()}
    calls, skipped, handles = [], [], []

    def hook(module, inputs, output):
        name = names.get(module, type(module).__name__)
        if isinstance(module, nn.ConvTranspose3d):
            skipped.append((name, "3-D ConvTranspose (this benchmark covers 1-D and 2-D)"))
            return
        if getattr(module, "padding_mode", "zeros") != "zeros":
            skipped.append((name, f"padding_mode = '{module.padding_mode}' (only zeros)"))
            return
        x = inputs[0]
        is_1d = isinstance(module, nn.ConvTranspose1d)
        if x.dim() == (2 if is_1d else 3):  # unbatched call
            x_shape, y_shape = (1, *x.shape), (1, *output.shape)
        else:
            x_shape, y_shape = tuple(x.shape), tuple(output.shape)
        p = problem_of_call(module, x_shape, y_shape, is_1d)
        why = tr.validate_problem(p)
        if why:
            skipped.append((name, f"not a valid problem here: {why}"))
            return
        calls.append((name, p))

    for m in model.modules():
        if isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            handles.append(m.register_forward_hook(hook))
    try:
        model.eval()
        x = torch.randn(*input_shape)
        with torch.no_grad():
            model(x)
    except Exception as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        raise tr.UserError(f"the forward pass on input {tuple(input_shape)} failed: "
                           f"{type(e).__name__}: {msg}") from None
    finally:
        for h in handles:
            h.remove()
    return calls, skipped


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog=PROG,
        description="Writes the ConvTranspose1d/2d shapes a PyTorch model runs as a tconv_bench "
                    "shapes file (one row per distinct shape, with the count of calls).")
    ap.add_argument("factory", metavar="MODULE:FACTORY")
    ap.add_argument("--input-shape", required=True, metavar="N,C,H,W",
                    help="shape of the random input of the forward pass")
    ap.add_argument("-o", "--output", metavar="shapes.csv",
                    help="write the shapes file here (atomically); default: stdout")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    shape = parse_input_shape(args.input_shape)
    if args.output and os.path.isdir(args.output):
        raise tr.UserError(f"-o {args.output}: is a directory")
    try:
        import torch  # noqa: F401
        from torch import nn
    except ImportError:
        raise tr.UserError("PyTorch is not installed (python3 -m pip install torch)") from None
    factory = load_factory(args.factory)
    try:
        model = factory()
    except Exception as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        raise tr.UserError(f"{args.factory}() failed: {type(e).__name__}: {msg}") from None
    if not isinstance(model, nn.Module):
        raise tr.UserError(f"{args.factory}() returned a {type(model).__name__}, not a "
                           f"torch.nn.Module")
    calls, skipped = extract(model, shape)
    for name, why in skipped:
        print(f"{PROG}: skipped call of '{name}': {why}", file=sys.stderr)
    if not calls and not skipped:
        raise tr.UserError(f"{args.factory}: no ConvTranspose1d/2d call in a forward pass")
    if not calls:
        raise tr.UserError(f"{args.factory}: none of its {len(skipped)} ConvTranspose call(s) "
                           f"can be expressed (reasons above)")
    shapes, _ = group_shapes(calls)
    text = tr.shapes_file_text(shapes)
    if args.output:
        tr.write_text_atomic(args.output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    print(f"{PROG}: {len(calls)} ConvTranspose call(s) -> {len(shapes)} shape(s)"
          + (f" in {args.output}" if args.output else "")
          + (f", {len(skipped)} skipped" if skipped else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(tr.run_cli(main))
