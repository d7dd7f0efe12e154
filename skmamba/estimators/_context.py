"""The rows a fitted forecaster keeps, so that an update costs what is new, not the history.

Backtesting moves the cutoff hundreds of times with ``update(y_new, update_params=False)``
followed by ``predict``. Merging every update into one frame copies the whole history each
time; :class:`SeriesContext` appends new rows as chunks instead and only reads the few rows a
forecast needs.
"""

import pandas as pd
from sktime.datatypes import update_data

__all__ = ["SeriesContext"]

# Small chunks appended by updates are merged into one once this many have accumulated, so
# the chunk list stays short without ever copying the whole history per update.
_MERGE_EVERY = 64


class SeriesContext:
    """Rows of a series (a ``DataFrame``) in time order, stored as appended chunks.

    Parameters
    ----------
    frame : pandas.DataFrame
        The first rows (the data ``fit`` saw).

    Examples
    --------
    >>> import pandas as pd
    >>> from skmamba.estimators._context import SeriesContext
    >>> ctx = SeriesContext(pd.DataFrame({"y": [1.0, 2.0, 3.0]}))
    >>> ctx.append(pd.DataFrame({"y": [4.0, 5.0]}, index=[3, 4]))
    >>> ctx.rows_ending_at(4, 3)["y"].tolist()
    [3.0, 4.0, 5.0]
    >>> len(ctx), int(ctx.last_label)
    (5, 4)
    """

    def __init__(self, frame):
        self._settled = [frame]  # large chunks
        self._recent = []  # chunks appended since the last merge
        self._n = len(frame)

    def __len__(self):
        return self._n

    @property
    def last_label(self):
        """The index label of the latest row."""
        return self._chunks()[-1].index[-1]

    def _chunks(self):
        return self._settled + self._recent

    def frame(self):
        """All rows as one ``DataFrame`` (copies the history: for rare paths only)."""
        chunks = self._chunks()
        if len(chunks) > 1:
            self._settled, self._recent = [pd.concat(chunks)], []
        return self._settled[0]

    def append(self, new):
        """Add ``new`` rows; rows at or before the latest one are merged (overwriting)."""
        if len(new) == 0:
            return
        if new.index[0] > self.last_label:
            self._recent.append(new)
            self._n += len(new)
            if len(self._recent) >= _MERGE_EVERY:
                self._settled.append(pd.concat(self._recent))
                self._recent = []
            return
        merged = update_data(self.frame(), new)
        self._settled, self._recent, self._n = [merged], [], len(merged)

    def rows_ending_at(self, label, n_rows):
        """The ``n_rows`` rows up to and including ``label`` (fewer when the history is short).

        Reading the latest rows touches only the chunks that hold them.
        """
        if label == self.last_label:
            parts, count = [], 0
            for chunk in reversed(self._chunks()):
                parts.append(chunk)
                count += len(chunk)
                if count >= n_rows:
                    break
            tail = parts[0] if len(parts) == 1 else pd.concat(parts[::-1])
            return tail.iloc[-n_rows:] if n_rows else tail.iloc[:0]
        full = self.frame()
        end = full.index.get_loc(label) + 1
        return full.iloc[max(0, end - n_rows):end]

    def rows_at(self, index):
        """The rows with labels ``index`` (all must be present)."""
        if len(index) and index[0] > self._settled[-1].index[-1] and self._recent:
            recent = pd.concat(self._recent) if len(self._recent) > 1 else self._recent[0]
            return recent.loc[index]
        return self.frame().loc[index]
