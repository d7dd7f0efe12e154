"""The calibration benchmark runs end to end on synthetic hourly data, and scores correctly.

Tiny MAT networks on 700 synthetic rows (the ETTh1 borders scaled down), so the test needs
neither the ETT files nor minutes of training.
"""

import numpy as np
import pandas as pd
import pytest

TINY = ["n1=8", "n2=8", "n_heads=1", "batch_size=64"]


@pytest.fixture(scope="module")
def calibration(load_benchmark):
    return load_benchmark("calibration")


def test_pinball_and_metrics(calibration):
    y = np.zeros((2, 3, 1))
    # Every quantile 1 above the truth: the loss at level a is (1 - a); mean over LEVELS.
    q = np.ones((2, 3, 1, len(calibration.LEVELS)))
    assert calibration.pinball(q, y) == pytest.approx(1 - np.mean(calibration.LEVELS))
    bounds = np.zeros((2, 3, 1, 2, 2))
    bounds[..., 0, :] = [-1.0, 1.0]   # the 80% interval holds 0
    bounds[..., 1, :] = [0.5, 2.0]    # the 95% one does not
    m = calibration.metrics(bounds, q, y)
    assert m["coverage80"] == 1.0 and m["coverage95"] == 0.0
    assert m["width80"] == 2.0 and m["width95"] == 1.5
    assert m["mae_point"] == 0.0 and m["mae_median"] == 1.0


def test_origins_and_step_blocks(calibration):
    cut = calibration.origins(11519, 14399, 96, 8)
    assert len(cut) == 349 and cut[0] == 11519 and cut[-1] + 96 == 14399
    assert calibration.step_blocks(96) == ((1, 24), (25, 48), (49, 72), (73, 96))


def test_calibration_smoke(calibration, tmp_path):
    out = tmp_path / "calibration.md"
    r = calibration.main([
        "--synthetic", "700", "--seq-len", "24", "--horizon", "12", "--max-epochs", "1",
        "--conformal-refits", "3", "--set", *TINY, "--out", str(out),
    ])
    # 700 rows: test block [560 - 24, 700), 140 - 12 + 1 = 129 windows, every 8th: 17.
    assert r["n_test"] == 17
    rows = r["rows"]
    main = rows[(rows.split == "test") & (rows.steps == "1-12") & (rows.scope != "column")]
    assert len(main) == 5  # (a), (b) on all columns and on OT; (c) on OT
    assert main[["coverage80", "coverage95"]].stack().between(0, 1).all()
    assert (main.width95 >= main.width80).all()
    for name, res in r["results"].items():
        assert res["quantile_check_gap"] < 1e-6, name  # assembled quantiles = sktime's
    assert r["results"][r["conformal_name"]]["n_refits"] == [3]
    text = out.read_text()
    assert "## Test windows" in text and "ConformalIntervals" in text
    assert len(pd.read_csv(out.with_suffix(".csv"))) == len(rows)
