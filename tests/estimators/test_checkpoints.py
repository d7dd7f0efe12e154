"""Fits that survive interruption: a fit killed mid-epoch resumes bit for bit."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import pandas as pd
    import torch
    torch.set_num_threads(1)
    from skmamba.estimators import SMambaForecaster

    out, ckpt = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
    rng = np.random.default_rng(0)
    t = np.arange(1500)
    y = pd.DataFrame({"a": np.sin(t / 5.0) + 0.1 * rng.standard_normal(1500),
                      "b": np.cos(t / 7.0) + 0.1 * rng.standard_normal(1500)},
                     index=pd.date_range("2024-01-01", periods=1500, freq="h"))
    f = SMambaForecaster(seq_len=48, d_model=32, d_ff=32, e_layers=2, max_epochs=4,
                         batch_size=16, validation_size=200, patience=None, lr=1e-3,
                         random_state=0, checkpoint_dir=ckpt)
    f.fit(y, fh=range(1, 13))
    np.save(out, np.concatenate([f.predict().to_numpy().ravel(),
                                 [h["train_loss"] for h in f.history_]]))
""")


def run(tmp_path, name, ckpt=None):
    args = [sys.executable, "-c", SCRIPT, str(tmp_path / name)]
    if ckpt is not None:
        args.append(str(ckpt))
    return subprocess.Popen(args, env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.slow
def test_fit_killed_mid_epoch_resumes_to_identical_predictions(tmp_path):
    ckpt = tmp_path / "ckpt"
    proc = run(tmp_path, "killed.npy", ckpt)
    deadline = time.time() + 300
    # Kill it once a checkpoint exists, i.e. after at least one complete epoch, while the
    # next epoch is under way.
    while not (ckpt.exists() and any(p.suffix == ".pt" for p in ckpt.iterdir())):
        assert proc.poll() is None, "the fit ended before writing a checkpoint"
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed.npy").exists()
    assert run(tmp_path, "resumed.npy", ckpt).wait() == 0
    assert run(tmp_path, "plain.npy").wait() == 0
    resumed, plain = np.load(tmp_path / "resumed.npy"), np.load(tmp_path / "plain.npy")
    np.testing.assert_array_equal(resumed, plain)
    # A completed fit leaves no checkpoint behind.
    assert not [p for p in ckpt.iterdir() if p.suffix == ".pt"]


def test_checkpoint_names_depend_on_data_and_parameters(tmp_path):
    import pandas as pd

    from skmamba.estimators import SMambaForecaster

    y = pd.Series(np.sin(np.arange(60) / 3.0))
    params = {**SMambaForecaster.get_test_params()[0], "checkpoint_dir": str(tmp_path)}
    f = SMambaForecaster(**params).fit(y, fh=[1])
    g = SMambaForecaster(**params).fit(y, fh=[1])
    np.testing.assert_array_equal(f.predict().to_numpy(), g.predict().to_numpy())
    assert list(tmp_path.iterdir()) == []  # removed after each completed fit
