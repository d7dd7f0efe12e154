"""Model-specific options of the MixMamba, MAT, FMamba and TimeStarMamba forecasters."""

import numpy as np
import pytest
import torch

from skmamba._nn.training import make_loss
from skmamba.estimators import (
    FMambaForecaster,
    MATForecaster,
    MixMambaForecaster,
    TimeStarMambaForecaster,
)


def test_timestar_trains_at_lr_1e2_with_finite_losses(hourly_small):
    # The official script's learning rate, the default architecture, no clamps or NaN guards.
    y, X = hourly_small[["OT", "HUFL"]], hourly_small[["MUFL", "LUFL", "HULL"]]
    f = TimeStarMambaForecaster(seq_len=96, max_epochs=3, lr=1e-2, validation_size=24,
                                patience=None, random_state=0)
    assert f.get_params()["lr"] == 1e-2 and f.get_tag("capability:exogenous")
    f.fit(y.iloc[:-24], X=X.iloc[:-24], fh=range(1, 25))
    assert f.n_exog_ == 3 and f.n_epochs_ == 3
    for epoch in f.history_:
        assert np.isfinite(epoch["train_loss"]) and np.isfinite(epoch["val_loss"])
    assert np.isfinite(f.predict(X=X.iloc[-24:]).to_numpy()).all()


def test_timestar_forecast_depends_on_X(hourly_small):
    y, X = hourly_small[["OT"]].iloc[:120], hourly_small[["HUFL"]].iloc[:120]
    f = TimeStarMambaForecaster(**TimeStarMambaForecaster.get_test_params()[0])
    f.fit(y, X=X, fh=[1, 2])
    same = f.predict_windows(y, X=X)
    flipped = f.predict_windows(y, X=-X)
    # An untrained tiny network: the effect is small but far above float32 rounding.
    rounding = np.finfo(np.float32).eps * np.abs(same).max()
    assert np.abs(same - flipped).max() > 100 * rounding


def test_mat_loss_uses_mse_weight():
    y_hat, y = torch.zeros(4), torch.full((4,), 2.0)
    f = MATForecaster(mse_weight=0.25)
    assert f.loss == "mse+mae"
    expected = float(make_loss("mse+mae", mse_weight=0.25)(y_hat, y))
    assert float(f._training_options().make_loss()(y_hat, y)) == pytest.approx(expected)  # 0.25 * 4 + 0.75 * 2
    assert expected == pytest.approx(2.5)


def test_mat_rejects_mse_weight_outside_unit_interval(y_range):
    f = MATForecaster(**{**MATForecaster.get_test_params()[0], "mse_weight": 1.5})
    with pytest.raises(ValueError, match="mse_weight"):
        f.fit(y_range, fh=[1])


def test_mixmamba_paper_params_are_the_published_etth1_setting():
    p = MixMambaForecaster.paper_params("ETTh1")
    assert (p["loss"], p["optimizer"], p["lr"], p["lr_decay"], p["batch_size"],
            p["max_epochs"], p["seq_len"]) == ("mae", "adamw", 1e-3, 0.5, 32, 10, 96)
    assert (p["d_model"], p["n_experts"], p["top_k"], p["patch_len"], p["stride"]) == (
        64, 2, 2, 16, 8)


def test_mixmamba_eval_routing_rules(hourly_small):
    y = hourly_small[["OT", "HUFL"]].iloc[:160]
    params = {**MixMambaForecaster.get_test_params()[0], "max_epochs": 2, "random_state": 0}
    assert MixMambaForecaster().eval_routing == "threshold"
    assert MixMambaForecaster.paper_params()["eval_routing"] == "threshold"
    f = MixMambaForecaster(**params).fit(y, fh=range(1, 5))
    with torch.no_grad():
        f.network_.moe.gate.weight.mul_(30.0)  # second gates below 0.2: the draws matter
    threshold = f.predict_windows(y)
    np.testing.assert_array_equal(threshold, f.predict_windows(y))
    f.network_.moe.eval_routing = "sampled"
    sampled = f.predict_windows(y)
    np.testing.assert_array_equal(sampled, f.predict_windows(y))  # seeded by random_state
    assert not np.array_equal(sampled, threshold)
    with pytest.raises(ValueError, match="eval_routing"):
        MixMambaForecaster(**{**params, "eval_routing": "mean"}).fit(y, fh=[1])


@pytest.mark.parametrize("cls", [MixMambaForecaster, MATForecaster, FMambaForecaster,
                                 TimeStarMambaForecaster])
def test_paper_params_are_complete_constructor_arguments(cls):
    p = cls.paper_params("ETTh2")
    f = cls(**p)
    assert f.get_params()["seq_len"] == 96 and f.lr_decay == 0.5 and f.max_epochs == 10
    # Every architecture parameter is pinned, so later default changes leave it alone.
    assert set(f._architecture()) <= set(p)
    p["seq_len"] = 1
    assert cls.paper_params()["seq_len"] == 96  # a copy each time
    with pytest.raises(ValueError, match="ETTh1.*ETTh2"):
        cls.paper_params("weather")


@pytest.mark.parametrize("cls, params", [
    (MixMambaForecaster, {"seq_len": 8, "patch_len": 16}),
    (MixMambaForecaster, {"n_experts": 2, "top_k": 3}),
    (MATForecaster, {"n1": 10, "n_heads": 4}),
    (FMambaForecaster, {"d_model": 10, "n_heads": 4}),
    (TimeStarMambaForecaster, {"seq_len": 8, "patch_len": 16}),
])
def test_invalid_architecture_raises_clear_error(cls, params, y_range):
    f = cls(**{**cls.get_test_params()[0], **params})
    with pytest.raises(ValueError, match="patch_len|top_k|divisible"):
        f.fit(y_range, fh=[1])
    assert not f.is_fitted
