"""The tuned ETTh settings: each entry builds its forecaster, and the lookups explain misses."""

import inspect

import numpy as np
import pytest

from skmamba.estimators import MODELS, best_ltsf_forecaster
from skmamba.estimators._ltsf_settings import BEST, TUNED

BY_NAME = {cls.__name__: cls for cls in MODELS.values()}
CELLS = sorted(TUNED)


def test_the_table_covers_etth_cells_and_names_registered_models():
    grid = {(d, h) for d in ("ETTh1", "ETTh2") for h in (96, 192, 336, 720)}
    assert CELLS and set(CELLS) <= grid and set(BEST) == set(TUNED)
    for cell, entries in TUNED.items():
        assert set(entries) <= set(BY_NAME), cell
    for cell, members in BEST.items():
        assert members and len(set(map(repr, members))) == len(members), cell
        for name, overrides in members:
            cls = BY_NAME[name]
            assert set(overrides) <= set(inspect.signature(cls.__init__).parameters), name


@pytest.mark.parametrize("cell", CELLS, ids=[f"{d}-{h}" for d, h in CELLS])
def test_tuned_params_are_constructor_arguments_differing_from_the_paper(cell):
    dataset, horizon = cell
    for name, overrides in TUNED[cell].items():
        cls = BY_NAME[name]
        assert set(overrides) <= set(inspect.signature(cls.__init__).parameters), name
        paper = cls.paper_params(dataset)
        # An entry lists only changes (else it would hide that nothing was gained); what
        # the paper's settings leave out is the constructor's default.
        baseline = {**cls().get_params(deep=False), **paper}
        assert all(baseline[k] != v for k, v in overrides.items()), (name, overrides)
        params = cls.tuned_params(dataset, horizon)
        assert params == {**paper, **overrides}
        assert cls(**params).get_params()["seq_len"] == params["seq_len"]


def _expected(cell, name, overrides, **params):
    cls = BY_NAME[name]
    return {**cls.paper_params(cell[0]), **overrides, "pred_len": cell[1], **params}


@pytest.mark.parametrize("cell", CELLS, ids=[f"{d}-{h}" for d, h in CELLS])
def test_best_forecaster_is_the_unfitted_choice_with_the_horizon_and_overrides(cell):
    f = best_ltsf_forecaster(*cell, random_state=3)
    members = BEST[cell]
    if len(members) == 1:
        built = [f]
    else:
        # Several members: sktime's mean ensemble of them, each named by class and lookback,
        # and by its other overrides where two members share those.
        assert type(f).__name__ == "EnsembleForecaster" and f.aggfunc == "mean"
        names = [name for name, _ in f.forecasters]
        assert len(set(names)) == len(names)
        built = [member for _, member in f.forecasters]
        short = [f"{type(m).__name__}_L{m.seq_len}" for m in built]
        for name, prefix, (_, overrides) in zip(names, short, members):
            if short.count(prefix) == 1:
                assert name == prefix
            else:
                assert name.startswith(prefix + "_") and all(
                    f"{k}={v}" in name for k, v in overrides.items() if k != "seq_len")
    assert [type(m).__name__ for m in built] == [name for name, _ in members]
    for member, (name, overrides) in zip(built, members):
        assert not member.is_fitted
        params = member.get_params(deep=False)
        assert params == {**params, **_expected(cell, name, overrides, random_state=3)}


def test_lookups_outside_the_search_say_what_exists():
    with pytest.raises(ValueError, match=r"no tuned settings.*paper_params"):
        MODELS["SMamba"].tuned_params("ETTh1", 48)
    with pytest.raises(ValueError, match="searched cell"):
        best_ltsf_forecaster("weather", 96)
    dataset, horizon = CELLS[0]
    missing = [c for n, c in BY_NAME.items() if n not in TUNED[CELLS[0]]]
    if missing:
        with pytest.raises(ValueError, match=r"has no tuned settings.*paper_params"):
            missing[0].tuned_params(dataset, horizon)


def test_several_members_forecast_their_mean(monkeypatch):
    from sktime.datasets import load_airline

    from skmamba.estimators import _ltsf_settings

    members = [("MATForecaster", {"seq_len": 336, "lr": 1e-4}), ("MixMambaForecaster", {})]
    monkeypatch.setitem(_ltsf_settings.BEST, ("ETTh2", 96), members)
    # Small enough for a unit test: a short lookback and horizon, one epoch.
    small = dict(seq_len=24, pred_len=3, max_epochs=1, batch_size=16, random_state=0)
    f = best_ltsf_forecaster("ETTh2", 96, **small)
    assert [name for name, _ in f.forecasters] == ["MATForecaster_L24", "MixMambaForecaster_L24"]
    y = load_airline()
    forecast = f.fit(y, fh=[1, 2, 3]).predict()
    singles = [type(m)(**m.get_params(deep=False)).fit(y, fh=[1, 2, 3]).predict()
               for _, m in f.forecasters]
    np.testing.assert_allclose(forecast, (singles[0] + singles[1]) / 2, rtol=1e-6)
