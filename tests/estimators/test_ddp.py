"""Forecasters trained data-parallel (n_processes, torchrun) and on a step budget (max_steps)."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from skmamba.estimators import SMambaForecaster

SETTINGS = dict(seq_len=24, d_model=16, d_ff=16, d_state=4, e_layers=1, max_epochs=3,
                batch_size=16, validation_size=40, dropout=0.0, random_state=0)


def frame(n_rows=400):
    rng = np.random.default_rng(0)
    t = np.arange(n_rows)
    return pd.DataFrame({"a": np.sin(t / 5.0) + 0.1 * rng.standard_normal(n_rows),
                         "b": np.cos(t / 7.0) + 0.1 * rng.standard_normal(n_rows)},
                        index=pd.date_range("2024-01-01", periods=n_rows, freq="h"))


@pytest.mark.xdist_group("ddp")
def test_two_processes_predict_as_one_process():
    y = frame()
    one = SMambaForecaster(**SETTINGS).fit(y, fh=range(1, 7))
    two = SMambaForecaster(**SETTINGS, n_processes=2).fit(y, fh=range(1, 7))
    np.testing.assert_allclose(two.predict().to_numpy(), one.predict().to_numpy(),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose([h["val_loss"] for h in two.history_],
                               [h["val_loss"] for h in one.history_], rtol=1e-5)
    assert two.n_epochs_ == one.n_epochs_ and two.best_epoch_ == one.best_epoch_
    assert next(two.network_.parameters()).device.type == "cpu"
    # Fine-tuning on new rows trains in this process, and the forecaster still matches.
    new = frame(410).iloc[400:]
    np.testing.assert_allclose(
        two.update(new, update_params=True).predict().to_numpy(),
        one.update(new, update_params=True).predict().to_numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.xdist_group("ddp")
def test_two_processes_train_a_panel_as_one_process():
    y = frame(200)
    panel = pd.concat({"north": y, "south": 2.0 * y - 1.0}, names=["region", "time"])
    settings = {**SETTINGS, "validation_size": 20, "max_epochs": 2}
    one = SMambaForecaster(**settings).fit(panel, fh=range(1, 7))
    two = SMambaForecaster(**settings, n_processes=2).fit(panel, fh=range(1, 7))
    np.testing.assert_allclose(two.predict().to_numpy(), one.predict().to_numpy(),
                               rtol=1e-5, atol=1e-5)


def test_max_steps_replaces_epochs():
    y = frame()  # 336 training windows: 21 batches of 16 per epoch
    f = SMambaForecaster(**{**SETTINGS, "max_epochs": 1}, max_steps=30).fit(y, fh=range(1, 7))
    assert [h["batches"] for h in f.history_] == [21, 9]
    assert f.n_epochs_ == 2 and all(h["val_loss"] is not None for h in f.history_)
    # Fine-tuning keeps its own epochs (at most 2) under the same step budget.
    f.update(frame(420).iloc[400:], update_params=True)
    assert np.isfinite(f.predict().to_numpy()).all()


def test_a_budget_of_whole_epochs_reproduces_max_epochs_bit_for_bit():
    y = frame(200)  # 135 training windows: 9 batches of 16
    by_epochs = SMambaForecaster(**SETTINGS).fit(y, fh=[1, 2])
    by_steps = SMambaForecaster(**{**SETTINGS, "max_epochs": 1}, max_steps=27).fit(y, fh=[1, 2])
    np.testing.assert_array_equal(by_steps.predict().to_numpy(),
                                  by_epochs.predict().to_numpy())
    assert [h["batches"] for h in by_steps.history_] == [9, 9, 9]


@pytest.mark.parametrize("param, value", [("max_steps", 0), ("max_steps", 1.5),
                                          ("n_processes", 0), ("n_processes", None)])
def test_invalid_budget_or_process_count_is_refused(param, value):
    f = SMambaForecaster(**SETTINGS, **{param: value})
    with pytest.raises(ValueError, match=f"SMambaForecaster: {param} must be an int >= 1"):
        f.fit(frame(200), fh=[1])


TORCHRUN_SCRIPT = textwrap.dedent("""
    import os, sys
    import numpy as np, pandas as pd, torch
    import skmamba
    from skmamba.estimators import SMambaForecaster

    out = sys.argv[1]
    rng = np.random.default_rng(0)
    t = np.arange(400)
    y = pd.DataFrame({"a": np.sin(t / 5.0) + 0.1 * rng.standard_normal(400),
                      "b": np.cos(t / 7.0) + 0.1 * rng.standard_normal(400)},
                     index=pd.date_range("2024-01-01", periods=400, freq="h"))
    f = SMambaForecaster(**SETTINGS).fit(y, fh=range(1, 7))
    rank = int(os.environ["RANK"])
    np.save(os.path.join(out, f"rank{rank}.npy"), f.predict().to_numpy())
    if rank == 0:
        skmamba.save_weights(f, os.path.join(out, "model.skmamba"))
    torch.distributed.destroy_process_group()
""")


@pytest.mark.slow
@pytest.mark.xdist_group("ddp")
def test_torchrun_trains_on_the_launchers_group(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(f"SETTINGS = {SETTINGS!r}\n" + TORCHRUN_SCRIPT)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           "--nproc_per_node=2", str(script), str(tmp_path)]
    done = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0, rank1 = np.load(tmp_path / "rank0.npy"), np.load(tmp_path / "rank1.npy")
    np.testing.assert_array_equal(rank0, rank1)  # every rank holds the same forecaster
    import skmamba

    loaded = skmamba.load_weights(tmp_path / "model.skmamba")
    np.testing.assert_array_equal(loaded.predict().to_numpy(), rank0)
    one = SMambaForecaster(**SETTINGS).fit(frame(), fh=range(1, 7))
    np.testing.assert_allclose(rank0, one.predict().to_numpy(), rtol=1e-5, atol=1e-5)
