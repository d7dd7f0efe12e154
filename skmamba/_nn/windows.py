"""Training and prediction windows over scaled series, as views that copy nothing.

Knows torch and numpy only. :class:`SeriesWindows` cuts one series (or several series
concatenated end to end, with start rows that never cross a boundary) into lookback and
target windows; the training loop draws batches of window starts from it.
"""

import numpy as np
import torch

__all__ = ["SeriesWindows"]


class SeriesWindows:
    """Sliding windows over one series, as strided views that copy nothing.

    Window ``s`` has lookback rows ``[s, s + seq_len)`` and target rows
    ``[s + seq_len, s + seq_len + pred_len)``. The series (and optional calendar marks and
    exogenous variables over the same rows) are held as one tensor each; ``Tensor.unfold``
    exposes every window as a view into it, and only the rows of a requested batch are
    gathered. Calendar marks cover the lookback rows; exogenous variables are known future
    covariates and cover the lookback and the target rows, ``[s, s + seq_len + pred_len)``.

    Several series concatenated end to end make one ``SeriesWindows``: the training loop
    then draws only the starts whose window lies inside one series (a panel's windows are
    never materialised, whatever the number of series).

    Parameters
    ----------
    values : numpy.ndarray or torch.Tensor
        Shape (T, C), the (already scaled) series.
    seq_len, pred_len : int
        Lookback and horizon. ``pred_len=0`` gives lookback-only windows for prediction.
    marks : array-like, optional
        Shape (T, M), calendar features of every row.
    exog : array-like, optional
        Shape (T, E), exogenous variables of every row (windows see them over the lookback
        and the target rows).
    device : str or torch.device, default="cpu"

    Examples
    --------
    >>> import numpy as np
    >>> from skmamba._nn.training import SeriesWindows
    >>> w = SeriesWindows(np.arange(20.0).reshape(10, 2), seq_len=4, pred_len=2)
    >>> len(w)
    5
    >>> x, x_mark, exog, y = w.batch([0, 4])
    >>> x.shape, y.shape, y[1, :, 0].tolist()
    (torch.Size([2, 4, 2]), torch.Size([2, 2, 2]), [16.0, 18.0])
    """

    def __init__(self, values, seq_len, pred_len, marks=None, exog=None, device="cpu"):
        self.seq_len = int(seq_len)
        self.pred_len = int(pred_len)
        self.values = _as_tensor(values, device)
        if self.values.dim() != 2:
            raise ValueError(f"values must have shape (T, C), got {tuple(self.values.shape)}")
        n_rows = self.values.shape[0]
        self.marks = None if marks is None else _as_tensor(marks, device)
        self.exog = None if exog is None else _as_tensor(exog, device)
        for name, extra in (("marks", self.marks), ("exog", self.exog)):
            if extra is not None and (extra.dim() != 2 or extra.shape[0] != n_rows):
                raise ValueError(
                    f"{name} must have shape ({n_rows}, k) to match values, "
                    f"got {tuple(extra.shape)}"
                )
        width = self.seq_len + self.pred_len
        if n_rows < width:
            raise ValueError(
                f"the series has {n_rows} rows, fewer than seq_len + pred_len = {width}"
            )
        # (n_windows, C, width) views; batches gather only the rows they need.
        self.windows = self.values.unfold(0, width, 1)
        self.mark_windows = None if self.marks is None else self.marks.unfold(0, self.seq_len, 1)
        self.exog_windows = None if self.exog is None else self.exog.unfold(0, width, 1)

    def __len__(self):
        return self.windows.shape[0]

    def batch(self, starts):
        """Gather windows starting at ``starts``.

        Returns
        -------
        x : torch.Tensor
            (batch, seq_len, C) lookback.
        x_mark, exog : torch.Tensor or None
            (batch, seq_len, M) over the lookback rows and (batch, seq_len + pred_len, E)
            over the lookback and target rows.
        y : torch.Tensor
            (batch, pred_len, C) targets.
        """
        if not torch.is_tensor(starts):
            starts = torch.as_tensor(np.asarray(starts, dtype=np.int64))
        starts = starts.to(self.windows.device)
        w = self.windows[starts]
        x = w[..., : self.seq_len].transpose(1, 2)
        y = w[..., self.seq_len:].transpose(1, 2)
        x_mark = None if self.mark_windows is None else self.mark_windows[starts].transpose(1, 2)
        exog = None if self.exog_windows is None else self.exog_windows[starts].transpose(1, 2)
        return x, x_mark, exog, y

    def lookbacks(self, n_windows=None):
        """The lookbacks of the first ``n_windows`` windows, as views (nothing is copied).

        Built with ``pred_len=0``, a ``SeriesWindows`` has one window per lookback, which is
        how forecasts are made for every origin of a series at once.

        Parameters
        ----------
        n_windows : int, optional
            How many windows, from the first; all when omitted.

        Returns
        -------
        x : torch.Tensor
            (n_windows, seq_len, C).
        x_mark, exog : torch.Tensor or None
            (n_windows, seq_len, M) and (n_windows, seq_len + pred_len, E).

        Examples
        --------
        >>> import numpy as np
        >>> from skmamba._nn.training import SeriesWindows
        >>> w = SeriesWindows(np.arange(10.0)[:, None], seq_len=4, pred_len=0)
        >>> x, _, _ = w.lookbacks(2)
        >>> x[:, :, 0].tolist()
        [[0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]]
        """
        sl = slice(0, len(self) if n_windows is None else int(n_windows))
        x = self.windows[sl][..., : self.seq_len].transpose(1, 2)
        x_mark = None if self.mark_windows is None else self.mark_windows[sl].transpose(1, 2)
        exog = None if self.exog_windows is None else self.exog_windows[sl].transpose(1, 2)
        return x, x_mark, exog


def _as_tensor(a, device):
    t = a if torch.is_tensor(a) else torch.from_numpy(np.ascontiguousarray(a))
    return t.to(device=device, dtype=torch.float32)
