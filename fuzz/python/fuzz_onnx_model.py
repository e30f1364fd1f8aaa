"""atheris target: shapes_from_onnx.py's reading of an ONNX model from bytes (parse_model,
extract and, for every node whose weight and bias are constants, the tensors --dump-tensors
writes). Contract: bad input ends in tconv_results.UserError (one line for the user) or in a
node skipped with its reason; anything else escaping is a finding. scripts/fuzz.sh runs it."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

sfo, tr = common.import_scripts("shapes_from_onnx", "tconv_results")

# What the reader imports on first use, imported here: the first input must not pay seconds of
# module loading against the fuzzer's per-input time-out.
import onnx  # noqa: E402,F401
import onnx.numpy_helper  # noqa: E402,F401
import onnx.shape_inference  # noqa: E402,F401

try:
    import onnx.inliner  # noqa: F401
except ImportError:  # older onnx: extract() says so and goes on
    pass

# External data is looked up in an empty folder: a fuzzed location must find nothing.
BASE_DIR = tempfile.mkdtemp(prefix="tconv_fuzz_onnx_")


def TestOneInput(data: bytes) -> None:
    try:
        model = sfo.parse_model(data, "fuzz.onnx")
        nodes, _ = sfo.extract(model, base_dir=BASE_DIR)
        for name, p, w_get, b_get in nodes:
            why = tr.validate_problem(p)
            if why:
                raise AssertionError(f"node {name}: extract returned an invalid problem: {why}")
            sfo.run_options(p)
            if w_get is not None:
                w_get()
            if b_get is not None:
                b_get()
    except tr.UserError:
        pass

if __name__ == "__main__":
    common.main(TestOneInput)
