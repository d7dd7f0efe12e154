"""The main job (``python -m skmamba``) reads its models from the registry."""

import pandas as pd
import pytest

import skmamba.estimators
from skmamba import _main
from skmamba.estimators import MODELS, MixMambaForecaster


def test_main_job_builds_every_registered_model():
    forecasters = _main._forecasters(seq_len=24, lr=1e-3, max_epochs=3, patch_len=8, seed=0)
    assert list(forecasters) == list(MODELS)
    for name, forecaster in forecasters.items():
        assert type(forecaster) is MODELS[name]
        params = forecaster.get_params()
        assert (params["seq_len"], params["max_epochs"], params["random_state"]) == (24, 3, 0)
        if "patch_len" in params:
            assert params["patch_len"] == 8


class _NewForecaster(MixMambaForecaster):
    """Stands in for a model added to the registry after the main job was written."""


@pytest.fixture
def quick_tasks(monkeypatch):
    """The main job's data sets and settings, trained for one epoch."""
    tasks = _main._tasks

    def quick():
        return [(name, y, horizon, sp, {**settings, "max_epochs": 1}, baselines)
                for name, y, horizon, sp, settings, baselines in tasks()]

    monkeypatch.setattr(_main, "_tasks", quick)


def test_model_added_to_registry_runs_in_main_job_without_edit(
        monkeypatch, quick_tasks, tmp_path, capsys):
    assert "New" not in _main._ARCHITECTURES
    monkeypatch.setattr(skmamba.estimators, "MODELS", {"New": _NewForecaster})

    built = _main._forecasters(seq_len=24, lr=1e-3, max_epochs=1, patch_len=8, seed=0)
    tiny = {k: v for k, v in MixMambaForecaster.get_test_params()[0].items()
            if k in ("d_model", "n_experts", "d_state")}
    params = built["New"].get_params()
    assert {k: params[k] for k in tiny} == tiny  # the test architecture
    assert (params["patch_len"], params["stride"]) == (8, 4)  # the data set's patches

    result = _main.main(["--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "Warm-up (not timed)" in out
    models = result.loc[~result["model"].str.startswith("naive"), "model"]
    assert list(models) == ["New", "New"]  # airline and uschange
    assert result["MASE"].notna().all()
    assert (tmp_path / "main_job_forecast.png").stat().st_size > 1000
    assert len(pd.read_csv(tmp_path / "main_job_errors.csv")) == len(result)

    # the defaults table: the registered model with its defaults, next to seasonal naive
    assert "Defaults on airline" in out
    defaults = pd.read_csv(tmp_path / "main_job_airline_defaults.csv")
    assert list(defaults["model"]) == ["New", "naive (seasonal)"]
    assert list(defaults.columns) == ["model", "MAE", "MAE/naive", "fit_s", "seq_len_",
                                      "pred_len_"]
    assert defaults["MAE"].notna().all() and (defaults["fit_s"] > 0).all()
    new = defaults.iloc[0]
    assert (new["seq_len_"], new["pred_len_"]) == (48, 24)  # chosen from the data
    assert defaults["MAE/naive"].iloc[-1] == 1.0

