"""The tuned ETTh settings: each entry builds its forecaster, and the lookups explain misses."""

import inspect

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
        assert BEST[cell] in entries, cell


@pytest.mark.parametrize("cell", CELLS, ids=[f"{d}-{h}" for d, h in CELLS])
def test_tuned_params_are_constructor_arguments_differing_from_the_paper(cell):
    dataset, horizon = cell
    for name, overrides in TUNED[cell].items():
        cls = BY_NAME[name]
        assert set(overrides) <= set(inspect.signature(cls.__init__).parameters), name
        paper = cls.paper_params(dataset)
        # An entry lists only changes (else it would hide that nothing was gained).
        assert all(paper[k] != v for k, v in overrides.items()), (name, overrides)
        params = cls.tuned_params(dataset, horizon)
        assert params == {**paper, **overrides}
        assert cls(**params).get_params()["seq_len"] == params["seq_len"]


def test_best_forecaster_is_unfitted_with_the_horizon_and_overrides():
    dataset, horizon = CELLS[0]
    f = best_ltsf_forecaster(dataset, horizon, random_state=3)
    assert type(f).__name__ == BEST[(dataset, horizon)]
    assert f.pred_len == horizon and f.random_state == 3 and not f.is_fitted
    assert f.get_params()["seq_len"] == type(f).tuned_params(dataset, horizon)["seq_len"]


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
