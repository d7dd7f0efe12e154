"""Ensembles of LTSF runs: averaged forecasts are scored per seed, and the choice reads only
the validation scores of combinations run on three seeds."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ens(load_benchmark):
    return load_benchmark("ltsf_ensemble")


def _save(ens, folder, model, seed, val, test, params="{}", seq_len=96):
    name = f"{model}-{seq_len}-{params.count(':')}-s{seed}.npz"
    ens.ltsf.save_forecasts(folder / name, val, test, dataset="ETTh1", model=model,
                            horizon=val.shape[1], seed=seed, seq_len=seq_len, params=params)


def test_members_with_opposite_errors_average_to_the_truth(ens, tmp_path):
    rng = np.random.default_rng(0)
    targets = {"val": rng.normal(size=(5, 4, 3)), "test": rng.normal(size=(6, 4, 3))}
    err = {part: rng.normal(size=t.shape) for part, t in targets.items()}
    for seed in (0, 1):
        _save(ens, tmp_path, "MAT", seed, targets["val"] + err["val"],
              targets["test"] + err["test"], params='{"lr": 0.0001}', seq_len=336)
        _save(ens, tmp_path, "MixMamba", seed, targets["val"] - err["val"],
              targets["test"] - err["test"])
    # A third setting run on one seed only joins combinations for that seed alone.
    _save(ens, tmp_path, "SMamba", 0, targets["val"], targets["test"])
    runs = ens.load_runs(tmp_path)
    rows = pd.DataFrame(ens.score_cell(runs, targets)[1])
    assert len(rows) == 2 * 3 + 4  # MAT, MixMamba, the pair: 2 seeds; SMamba's 4: seed 0
    pair = rows[rows["members"].map(lambda m: len(json.loads(m)) == 2
                                    and "SMamba" not in m)]
    assert set(pair["seed"]) == {0, 1}
    np.testing.assert_allclose(pair[["val_mse", "mse", "mae"]].to_numpy(), 0, atol=1e-6)
    mat = rows[rows["members"].str.contains("MAT") & (rows["n_members"] == 1)]
    assert json.loads(json.loads(mat["members"].iloc[0])[0]) == [
        "MAT", {"lr": 0.0001, "seq_len": 336}]
    np.testing.assert_allclose(mat["mse"], np.mean(err["test"] ** 2), rtol=1e-5)
    triple = rows[rows["n_members"] == 3]
    assert list(triple["seed"]) == [0]


def test_forecasts_of_the_wrong_shape_are_refused(ens, tmp_path):
    targets = {"val": np.zeros((5, 4, 3)), "test": np.zeros((6, 4, 3))}
    _save(ens, tmp_path, "MAT", 0, np.zeros((4, 4, 3)), np.zeros((6, 4, 3)))
    with pytest.raises(ValueError, match="val forecasts"):
        ens.score_cell(ens.load_runs(tmp_path), targets)


def test_scores_from_error_products_are_the_scores_of_the_averages(ens, tmp_path):
    # Each combination's MSE comes from the members' error products; averaging the forecasts
    # and scoring them directly must give the same numbers.
    rng = np.random.default_rng(2)
    targets = {"val": rng.normal(size=(12, 3, 2)), "test": rng.normal(size=(7, 3, 2))}
    for i, model in enumerate(("MAT", "MixMamba", "SMamba")):
        _save(ens, tmp_path, model, 0, targets["val"] + rng.normal(i, 1, (12, 3, 2)),
              targets["test"] + rng.normal(-i, 2, (7, 3, 2)))
    runs = ens.load_runs(tmp_path)
    products, rows = ens.score_cell(runs, targets)
    direct = pd.DataFrame(ens.mae_rows(runs, targets, [r["members"] for r in rows]))
    merged = pd.DataFrame(rows).merge(direct, on=["members", "seed"], suffixes=("", "_direct"))
    assert len(merged) == 7
    for column in ("val_mse", "mse", "val_mae", "mae"):
        np.testing.assert_allclose(merged[column], merged[column + "_direct"], rtol=1e-12)
    # The products alone rebuild the MSEs, as the committed results are read.
    again = ens.combination_scores(pd.DataFrame(products))
    np.testing.assert_allclose(again.sort_values("members")["val_mse"],
                               merged.sort_values("members")["val_mse"], rtol=1e-12)


def test_mae_is_kept_for_the_reported_combinations_only(ens, tmp_path, monkeypatch):
    monkeypatch.setattr(ens, "REPORTED", 2)
    rng = np.random.default_rng(3)
    targets = {"val": rng.normal(size=(6, 2, 1)), "test": rng.normal(size=(6, 2, 1))}
    for seed in (0, 1, 2):
        for i, model in enumerate(("MAT", "MixMamba", "SMamba", "FMamba")):
            _save(ens, tmp_path, model, seed, targets["val"] + rng.normal(0, 1 + i, (6, 2, 1)),
                  targets["test"])
    rows = pd.DataFrame(ens.score_cell(ens.load_runs(tmp_path), targets)[1])
    means = rows.groupby("members")["val_mse"].mean()
    kept = set(rows.loc[rows["mae"].notna(), "members"])
    # The two lowest, the four singles and the average of all; nothing else.
    expected = set(means.nsmallest(2).index) | set(rows.loc[rows["n_members"].isin([1, 4]),
                                                            "members"])
    assert kept == expected and len(means) == 15


def test_validation_halves_share_no_target_row(ens):
    first, second = ens.validation_halves(100, horizon=10)
    assert (first.start, first.stop) == (0, 50)
    # Window i covers target rows i .. i + 9: the first half's last row is 58.
    assert second.start == 59 and second.stop == 100


def test_half_scores_are_the_mse_of_each_half(ens, tmp_path):
    rng = np.random.default_rng(1)
    targets = {"val": rng.normal(size=(20, 3, 2)), "test": rng.normal(size=(6, 3, 2))}
    err = rng.normal(size=targets["val"].shape)
    _save(ens, tmp_path, "MAT", 0, targets["val"] + err, targets["test"])
    row = ens.score_cell(ens.load_runs(tmp_path), targets)[1][0]
    np.testing.assert_allclose(row["val_first_mse"], np.mean(err[:10] ** 2), rtol=1e-5)
    np.testing.assert_allclose(row["val_second_mse"], np.mean(err[12:] ** 2), rtol=1e-5)


def _frame(rows, halves=None):
    halves = halves or {}
    return pd.DataFrame([
        dict(dataset="ETTh2", horizon=336, members=json.dumps(members), seed=seed,
             n_members=len(members), val_mse=val, mse=0.0, mae=0.0,
             val_first_mse=halves.get(len(members), (np.nan, np.nan))[0],
             val_second_mse=halves.get(len(members), (np.nan, np.nan))[1])
        for members, seeds, val in rows for seed in seeds
    ])


def test_validation_halves_decide_between_the_lowest_and_the_average_of_all(ens):
    mat, mix = json.dumps(["MAT", {}]), json.dumps(["MixMamba", {}])
    rows = [([mat], (0, 1, 2), 0.30), ([mix], (0, 1, 2), 0.40), ([mat, mix], (0, 1, 2), 0.35)]
    # MAT wins the first half, but the average of both wins the second: average all.
    frame = _frame(rows, halves={1: (0.20, 0.50), 2: (0.25, 0.40)})
    rule, table = ens.combination_rule(ens.combination_means(frame))
    assert rule == ens.ALL and len(table) == 1
    assert ens.ensemble_choice(frame) == {("ETTh2", 336): [
        ("MATForecaster", {}), ("MixMambaForecaster", {})]}
    # The lowest on the first half also wins the second: keep the lowest validation MSE.
    frame = _frame(rows, halves={1: (0.20, 0.30), 2: (0.25, 0.40)})
    assert ens.combination_rule(ens.combination_means(frame))[0] == ens.LOWEST
    assert ens.ensemble_choice(frame) == {("ETTh2", 336): [("MATForecaster", {})]}


def test_choice_reads_validation_scores_of_three_seed_combinations(ens):
    mat = json.dumps(["MAT", {}])
    mix = json.dumps(["MixMamba", {"lr": 0.0001, "seq_len": 336}])
    frame = _frame([
        ([mat], (0, 1, 2), 0.40),
        ([mat, mix], (0, 1, 2), 0.38),
        ([mix], (0,), 0.10),  # one seed: does not compete however low
    ])
    assert ens.ensemble_choice(frame) == {("ETTh2", 336): [
        ("MATForecaster", {}), ("MixMambaForecaster", {"lr": 0.0001, "seq_len": 336})]}
    # On a tie the smaller combination wins.
    tie = _frame([([mat], (0, 1, 2), 0.38), ([mat, mix], (0, 1, 2), 0.38)])
    assert ens.ensemble_choice(tie) == {("ETTh2", 336): [("MATForecaster", {})]}


def test_best_table_is_the_choice_of_the_recorded_ensembles(ens):
    from skmamba.estimators._ltsf_settings import BEST

    scores, _ = ens.load_results(ROOT / "benchmarks" / "results")
    assert ens.ensemble_choice(scores) == BEST


def test_committed_report_is_the_report_of_the_committed_scores(ens, tmp_path):
    # --report-only rewrites the report from the csv alone; the committed one must match.
    results = ROOT / "benchmarks" / "results"
    for name in (ens.SCORES, ens.PRODUCTS):
        (tmp_path / name).write_bytes((results / name).read_bytes())
    assert ens.main(["--report-only", "--out-dir", str(tmp_path)]) == 0
    assert (tmp_path / "ltsf_ensemble.md").read_text() == (
        results / "ltsf_ensemble.md").read_text()


def test_scoring_needs_a_forecasts_folder(ens, tmp_path):
    with pytest.raises(SystemExit):
        ens.main(["--out-dir", str(tmp_path)])
