"""The official TimeStarMamba (``vinhky123/Model``) trained as its TSLib ``run.py`` trains it.

A reference measurement for the TimeStarMamba gap study in ``benchmarks/README.md``: it runs
the authors' network, not skmamba's, on the ETTh protocol of ``benchmarks/ltsf.py``:
TSLib's ``Dataset_ETT_hour`` borders (12/4/4 months, the validation and test blocks starting
``seq_len`` rows early), a scaler fitted on the training rows, hourly time features, Adam,
MSE, the learning rate halved after each epoch from the second (``lradj=type1``), early
stopping on the mean validation batch loss with the best weights restored, and the test MSE
over every stride-1 test window of the scaled data. The script's architecture
(``TimeStarMamba.sh``): two layers, d_model = d_ff = 128, d_core 64, expand 2, d_conv 4,
patches of 16, lookback 96. Seed 2021 as ``run.py`` fixes it.

Usage (a checkout of https://github.com/vinhky123/Model; it needs torch and einops)::

    python benchmarks/official_timestarmamba.py --code-dir ../Model --dataset ETTh2 \
        --horizon 96 --epochs 2

One JSON line with the scores is printed last.
"""

import argparse
import copy
import json
import random
import resource
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from ltsf import add_data_arguments, scaled_split  # noqa: E402  (the shared protocol)

from skmamba.datasets import ett_borders, load_ett  # noqa: E402


def protocol_blocks(series, seq_len):
    """The training, validation and test blocks of an ETT frame (as ``load_ett`` returns it)
    cut and scaled as ``ltsf.py`` does, which is how TSLib's ``Dataset_ETT_hour`` does: the
    later blocks start ``seq_len`` rows early, the scaler is fitted on the training rows.
    Returns ``{"train" | "val" | "test": (scaled values, their dates)}``."""
    borders = ett_borders(seq_len)
    scaled = scaled_split(series, borders).to_numpy()
    return {flag: (scaled[start:stop], series.index[start:stop])
            for flag, (start, stop) in borders.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code-dir", required=True, help="checkout of vinhky123/Model")
    add_data_arguments(parser)
    parser.set_defaults(dataset="ETTh2")
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2021)
    args = parser.parse_args(argv)

    import torch
    from torch.utils.data import DataLoader, Dataset

    sys.path.insert(0, args.code_dir)
    from models.TimeStarMamba import Model
    from utils.timefeatures import time_features

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(1)
    cfg = SimpleNamespace(
        task_name="long_term_forecast", features="M", seq_len=96, label_len=48,
        pred_len=args.horizon, use_norm=1, patch_len=16, enc_in=7, dec_in=7, c_out=7,
        d_model=128, d_ff=128, d_core=64, expand=2, d_conv=4, e_layers=2, dropout=0.1,
        embed="timeF", freq="h", activation="gelu", factor=3, n_heads=8)
    blocks = protocol_blocks(load_ett(args.dataset, args.data_dir), cfg.seq_len)

    class Block(Dataset):
        def __init__(self, flag):
            self.x, dates = blocks[flag]
            self.stamp = time_features(dates, freq="h").T

        def __len__(self):
            return len(self.x) - cfg.seq_len - cfg.pred_len + 1

        def __getitem__(self, i):
            end = i + cfg.seq_len
            lo, hi = end - cfg.label_len, end + cfg.pred_len
            return self.x[i:end], self.x[lo:hi], self.stamp[i:end], self.stamp[lo:hi]

    def loader(flag):
        return DataLoader(Block(flag), batch_size=args.batch_size, shuffle=flag != "test")

    def epoch(model, batches, optimizer=None):
        model.train(optimizer is not None)
        losses, errors = [], []
        with torch.set_grad_enabled(optimizer is not None):
            for x, y, x_mark, y_mark in batches:
                x, y, x_mark, y_mark = x.float(), y.float(), x_mark.float(), y_mark.float()
                dec = torch.cat([y[:, :cfg.label_len], torch.zeros_like(y[:, -cfg.pred_len:])], 1)
                out = model(x, x_mark, dec, y_mark)[:, -cfg.pred_len:]
                loss = torch.nn.functional.mse_loss(out, y[:, -cfg.pred_len:])
                if optimizer is not None:
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                losses.append(loss.item())
                errors.append((out - y[:, -cfg.pred_len:]).detach().numpy())
        return float(np.mean(losses)), np.concatenate(errors)

    train, val, test = loader("train"), loader("val"), loader("test")
    model = Model(cfg).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    best, best_state, waited, n_epochs, start = np.inf, None, 0, 0, time.time()
    for e in range(args.epochs):
        tick = time.time()
        train_loss, _ = epoch(model, train, optimizer)
        val_loss, _ = epoch(model, val)
        n_epochs += 1
        print(f"epoch {e + 1}: train {train_loss:.4f} val {val_loss:.4f} "
              f"({time.time() - tick:.0f} s)", flush=True)
        if val_loss < best:
            best, best_state, waited = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
            if waited >= args.patience:
                break
        for group in optimizer.param_groups:  # type1, called with epoch e + 1
            group["lr"] = args.lr * 0.5 ** e
    model.load_state_dict(best_state)
    _, errors = epoch(model, test)
    print(json.dumps(dict(
        dataset=args.dataset, horizon=args.horizon, lr=args.lr, batch_size=args.batch_size,
        seed=args.seed, mse=float((errors ** 2).mean()), mae=float(np.abs(errors).mean()),
        val_mse=best, n_test_windows=len(errors), n_epochs=n_epochs,
        seconds_per_epoch=round((time.time() - start) / n_epochs, 1),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
