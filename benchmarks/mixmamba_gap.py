"""MixMamba against its paper: prediction routing rules scored on the same trained weights.

For every seed, MixMamba is trained once in its published setting (``paper_params``, early
stopping on the validation rows) through the public API; the trained network is then scored
on the validation rows and on the full stride-1 test set under every prediction routing rule
(``eval_routing``), and under the official random rule averaged over several draws. Only the
validation columns may be used to choose a rule; the test columns are reported beside them.

Usage::

    python benchmarks/mixmamba_gap.py --seeds 0 1 2 --append
    python benchmarks/mixmamba_gap.py --seeds 0 1 2 --set expert_init=mamba --append

``--set`` changes the training (e.g. ``eval_routing=sampled`` validates with the official
random rule during training, as the official script does). Rows go to
``benchmarks/results/mixmamba_gap.csv``; the summary (means over seeds) is printed as
markdown.
"""

import argparse
import importlib.util
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("ltsf", HERE / "ltsf.py")
ltsf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ltsf)

RULES = ("threshold", "expected", "all", "sampled")


def score_rules(forecaster, blocks, seq_len, horizon, draws):
    """MSE/MAE of every block under every routing rule; the forecaster is left as found."""
    moe = forecaster.network_.moe
    rule0, seed0 = moe.eval_routing, forecaster.seed_
    out = {}
    try:
        for rule in RULES:
            moe.eval_routing = rule
            for name, rows in blocks.items():
                targets = ltsf.window_targets(rows, seq_len, horizon)
                out[rule, name] = ltsf.score(forecaster.predict_windows(rows), targets)
        # Prediction is seeded by seed_, so every call draws the same routes; new draws
        # need other seeds.
        moe.eval_routing = "sampled"
        for name, rows in blocks.items():
            targets = ltsf.window_targets(rows, seq_len, horizon)
            mean = 0.0
            for i in range(draws):
                forecaster.seed_ = seed0 + 7919 * (i + 1)
                mean = mean + forecaster.predict_windows(rows) / draws
            out[f"sampled_mean{draws}", name] = ltsf.score(mean, targets)
    finally:
        moe.eval_routing, forecaster.seed_ = rule0, seed0
    return out


def run_seed(args, seed):
    import torch

    from skmamba.estimators import MixMambaForecaster

    torch.set_num_threads(args.threads)
    data, borders = ltsf.load_protocol_data(args.dataset, args.data_dir, args.seq_len)
    fit_rows = data.iloc[: borders["val"][1]]
    blocks = {
        "val": data.iloc[borders["val"][0]: borders["val"][1]],
        "test": data.iloc[borders["test"][0]: borders["test"][1]],
    }
    params = dict(
        MixMambaForecaster.paper_params(args.dataset), seq_len=args.seq_len,
        pred_len=args.horizon, validation_size=borders["val"][1] - borders["train"][1],
        random_state=seed, device="cpu",
    )
    params.update(args.set)
    f = MixMambaForecaster(**params)
    t0 = time.perf_counter()
    f.fit(fit_rows, fh=np.arange(1, args.horizon + 1))
    fit_seconds = time.perf_counter() - t0
    scores = score_rules(f, blocks, args.seq_len, args.horizon, args.draws)
    base = dict(
        dataset=args.dataset, horizon=args.horizon, seed=seed,
        train=json.dumps(args.set, sort_keys=True), n_epochs=int(f.n_epochs_),
        best_epoch=int(f.best_epoch_), fit_seconds=round(fit_seconds, 1),
        seconds_per_epoch=round(fit_seconds / max(int(f.n_epochs_), 1), 2),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    )
    rows = []
    for rule in sorted({r for r, _ in scores}):
        (vmse, vmae), (tmse, tmae) = scores[rule, "val"], scores[rule, "test"]
        rows.append(dict(base, eval_rule=rule, val_mse=vmse, val_mae=vmae, test_mse=tmse,
                         test_mae=tmae))
    return rows


def summary(frame):
    """Means over seeds per training variant and rule, as markdown lines."""
    g = frame.groupby(["dataset", "horizon", "train", "eval_rule"]).agg(
        val_mse=("val_mse", "mean"), val_mae=("val_mae", "mean"),
        test_mse=("test_mse", "mean"), test_mae=("test_mae", "mean"),
        seeds=("seed", lambda s: ",".join(str(v) for v in sorted(s))),
        epochs=("n_epochs", "mean"), s_epoch=("seconds_per_epoch", "mean"),
    ).reset_index()
    lines = ["| dataset | H | training | eval rule | val MSE | val MAE | test MSE | test MAE "
             "| seeds | epochs | s/epoch |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in g.itertuples():
        lines.append(
            f"| {r.dataset} | {r.horizon} | {r.train} | {r.eval_rule} | {r.val_mse:.4f} | "
            f"{r.val_mae:.4f} | {r.test_mse:.4f} | {r.test_mae:.4f} | {r.seeds} | "
            f"{r.epochs:.1f} | {r.s_epoch:.1f} |"
        )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=ltsf.DEFAULT_DATA_DIR)
    parser.add_argument("--dataset", default="ETTh1")
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--seq-len", type=int, default=96)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--draws", type=int, default=8,
                        help="draws averaged for the sampled_meanN rule")
    parser.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                        help="MixMamba training overrides of paper_params")
    parser.add_argument("--out", default=str(HERE / "results" / "mixmamba_gap.csv"))
    parser.add_argument("--append", action="store_true")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    args.set = ltsf.parse_set(args.set)
    out = Path(args.out)
    if not args.report_only:
        old = [pd.read_csv(out)] if args.append and out.exists() else []
        rows = []
        for seed in args.seeds:
            rows += run_seed(args, seed)
            new = pd.DataFrame(rows)
            # Written after every seed so a stopped run keeps what finished.
            pd.concat([*old, new]).to_csv(out, index=False)
            print(new[new["seed"] == seed].to_string(index=False), flush=True)
    print("\n".join(summary(pd.read_csv(out))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
