"""`tconv run` on 3-D arrays (PyTorch's ConvTranspose1d layout) against torch's own
conv_transpose1d in float64. Needs torch and a built tconv: without either, the tests report
SKIPPED, never passed."""

import os
import subprocess

import numpy as np
import pytest

from conftest import REPO

torch = pytest.importorskip("torch")


def tconv_path():
    # The build folder as the other script tests find it: $TCONV_BUILD_DIR (CTest), else
    # $BUILD_DIR (relative to the repository), else build/.
    d = os.environ.get("TCONV_BUILD_DIR") or os.environ.get("BUILD_DIR") or "build"
    path = os.path.join(d if os.path.isabs(d) else os.path.join(REPO, d), "tconv")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.skip(f"tconv is not built at {path} (set TCONV_BUILD_DIR or BUILD_DIR)")
    return path


# (n, c_in, l, c_out, k, stride, padding, output_padding, dilation, groups, bias)
CASES = [
    (2, 4, 7, 6, 4, 3, 1, 1, 2, 2, True),     # every option at once
    (1, 8, 11, 4, 16, 8, 4, 0, 1, 1, True),   # HiFi-GAN's k16 s8 p4, small channels
    (1, 6, 9, 3, 10, 5, 0, 0, 1, 1, False),   # EnCodec's k = 2 * stride, no padding
    (3, 6, 5, 6, 3, 1, 1, 0, 1, 6, True),     # depthwise, stride 1
    (1, 2, 1, 2, 5, 2, 0, 1, 1, 1, False),    # one input sample
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "n{}_c{}_l{}_co{}_k{}_s{}_p{}_op{}_d{}_g{}_b{}".format(*c))
@pytest.mark.parametrize("impl", ["ref_direct", "ref_zero_insert"])
def test_tconv_run_matches_torch_conv_transpose1d(tmp_path, case, impl):
    binary = tconv_path()
    n, c_in, l, c_out, k, s, p, op, d, g, with_bias = case
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, c_in, l))
    w = rng.standard_normal((c_in, c_out // g, k))
    b = rng.standard_normal(c_out) if with_bias else None
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    args = [binary, "run", "--impl", impl, "--input", str(tmp_path / "x.npy"),
            "--weight", str(tmp_path / "w.npy"), "--stride", str(s), "--padding", str(p),
            "--output-padding", str(op), "--dilation", str(d), "--groups", str(g),
            "--output", str(tmp_path / "y.npy")]
    if b is not None:
        np.save(tmp_path / "b.npy", b)
        args += ["--bias", str(tmp_path / "b.npy")]
    res = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    y = np.load(tmp_path / "y.npy")
    expected = torch.nn.functional.conv_transpose1d(
        torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b),
        stride=s, padding=p, output_padding=op, groups=g, dilation=d).numpy()
    assert y.dtype == np.float64
    assert y.shape == expected.shape  # 3-D in, 3-D out
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
