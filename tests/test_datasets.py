"""load_ett: where it looks for a file, and its download into the cache, exercised against a
real HTTP server on 127.0.0.1 that serves a small ETT-format file."""

import doctest
import functools
import hashlib
import http.server
import threading

import numpy as np
import pandas as pd
import pytest

import skmamba.datasets
from skmamba.datasets import ETT_SHA256, ETT_URL, ett_borders, load_ett

COLUMNS = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]


def ett_format_csv(n_rows=48, seed=0):
    """Bytes of a CSV in the layout of the ETT files: a date column, then seven columns."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2016-07-01", periods=n_rows, freq="h")
    values = np.round(10 + rng.standard_normal((n_rows, len(COLUMNS))), 3)
    lines = ["date," + ",".join(COLUMNS)]
    lines += [f"{d:%Y-%m-%d %H:%M:%S}," + ",".join(map(str, row)) for d, row in zip(dates, values)]
    return ("\n".join(lines) + "\n").encode()


class Server:
    """http.server in a thread serving a folder; counts the requests it answers."""

    def __init__(self, root):
        self.requests = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                server.requests.append(self.path)

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/ETT-small"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()


@pytest.fixture
def content():
    return ett_format_csv()


@pytest.fixture
def checksums(content):
    """The digest table for the served file, named Tiny, plus one the server lacks."""
    return {"Tiny": hashlib.sha256(content).hexdigest(), "Missing": "0" * 64}


@pytest.fixture
def server(tmp_path, content, monkeypatch):
    root = tmp_path / "www"
    (root / "ETT-small").mkdir(parents=True)
    (root / "ETT-small" / "Tiny.csv").write_bytes(content)
    # A proxy from the environment must not intercept the local server.
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = Server(root)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_data_dir(monkeypatch):
    monkeypatch.delenv("SKMAMBA_DATA_DIR", raising=False)
    monkeypatch.delenv("SKMAMBA_CACHE_DIR", raising=False)


def files_in(folder):
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


# ---------------------------------------------------------------- download into the cache
def test_download_lands_in_the_cache_and_later_calls_read_it(server, tmp_path, content,
                                                            checksums):
    cache = tmp_path / "cache"
    df = load_ett("Tiny", cache_dir=cache, url=server.url, checksums=checksums)
    assert server.requests == ["/ETT-small/Tiny.csv"]
    assert files_in(cache) == ["Tiny.csv"]
    assert (cache / "Tiny.csv").read_bytes() == content
    assert df.shape == (48, 7) and list(df.columns) == COLUMNS
    assert df.index.name == "date" and df.index.freqstr == "h"
    assert df.index[0] == pd.Timestamp("2016-07-01") and (df.dtypes == np.float64).all()

    server.stop()  # from now on any download attempt would fail
    again = load_ett("Tiny", cache_dir=cache, url=server.url, checksums=checksums,
                     download=False, verify=True)
    pd.testing.assert_frame_equal(again, df)
    assert len(server.requests) == 1


def test_default_url_and_cache_come_from_the_module_and_environment(server, tmp_path,
                                                                    monkeypatch, checksums):
    cache = tmp_path / "env-cache"
    monkeypatch.setenv("SKMAMBA_CACHE_DIR", str(cache))
    monkeypatch.setattr(skmamba.datasets, "ETT_URL", server.url + "/")
    df = load_ett("Tiny", checksums=checksums)
    assert files_in(cache) == ["Tiny.csv"] and len(df) == 48
    assert server.requests == ["/ETT-small/Tiny.csv"]


def test_wrong_digest_is_refused_and_nothing_is_cached(server, tmp_path, checksums):
    cache = tmp_path / "cache"
    wrong = {"Tiny": hashlib.sha256(b"something else").hexdigest()}
    with pytest.raises(ValueError, match="sha256") as info:
        load_ett("Tiny", cache_dir=cache, url=server.url, checksums=wrong)
    message = str(info.value)
    assert f"{server.url}/Tiny.csv" in message and checksums["Tiny"] in message
    assert wrong["Tiny"] in message and "path=" in message
    assert files_in(cache) == []
    # Nothing was kept, so with the right digest the file is downloaded again.
    load_ett("Tiny", cache_dir=cache, url=server.url, checksums=checksums)
    assert len(server.requests) == 2 and files_in(cache) == ["Tiny.csv"]


def test_http_error_names_the_url_and_how_to_pass_a_path(server, tmp_path, checksums):
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match="404") as info:
        load_ett("Missing", cache_dir=cache, url=server.url, checksums=checksums)
    message = str(info.value)
    assert f"{server.url}/Missing.csv" in message
    assert "path='<folder holding Missing.csv>'" in message and "SKMAMBA_DATA_DIR" in message
    assert files_in(cache) == []


def test_unreachable_server_names_the_url(server, tmp_path, checksums):
    server.stop()
    with pytest.raises(OSError, match="could not download Tiny from http://127.0.0.1"):
        load_ett("Tiny", cache_dir=tmp_path / "cache", url=server.url, checksums=checksums,
                 timeout=5)
    assert files_in(tmp_path / "cache") == []


def test_no_download_when_not_allowed(tmp_path, checksums):
    with pytest.raises(FileNotFoundError, match="download=False"):
        load_ett("Tiny", cache_dir=tmp_path / "cache", url="http://127.0.0.1:9/none",
                 checksums=checksums, download=False)
    assert files_in(tmp_path / "cache") == []


# ---------------------------------------------------------------- files on disk
def test_path_folder_or_file_and_the_environment_variable(tmp_path, content, checksums,
                                                          monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "Tiny.csv").write_bytes(content)
    cache = tmp_path / "cache"
    no_server = "http://127.0.0.1:9/none"  # would fail if it were ever contacted
    kwargs = dict(cache_dir=cache, url=no_server, checksums=checksums)
    a = load_ett("Tiny", folder, verify=True, **kwargs)
    b = load_ett("Tiny", folder / "Tiny.csv", **kwargs)
    monkeypatch.setenv("SKMAMBA_DATA_DIR", str(folder))
    c = load_ett("Tiny", **kwargs)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    assert files_in(cache) == []

    # A path or data folder without the file raises instead of downloading.
    with pytest.raises(FileNotFoundError, match="SKMAMBA_DATA_DIR"):
        load_ett("Other", cache_dir=cache, url=no_server, checksums={"Other": "0" * 64})
    with pytest.raises(FileNotFoundError, match="pass the folder holding Tiny.csv"):
        load_ett("Tiny", tmp_path / "nowhere", **kwargs)
    assert files_in(cache) == []


def test_verify_rejects_a_modified_local_file(tmp_path, content, checksums):
    (tmp_path / "Tiny.csv").write_bytes(content.rstrip(b"\n") + b"1\n")
    load_ett("Tiny", tmp_path, checksums=checksums)  # not checked unless asked
    with pytest.raises(ValueError, match="is not the published one"):
        load_ett("Tiny", tmp_path, verify=True, checksums=checksums)


def test_unknown_name():
    with pytest.raises(ValueError, match=r"one of \['ETTh1', 'ETTh2'\], got 'ETTm1'"):
        load_ett("ETTm1")


def test_defaults_point_at_the_official_files():
    assert ETT_URL == "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small"
    assert sorted(ETT_SHA256) == ["ETTh1", "ETTh2"]
    assert all(len(d) == 64 and int(d, 16) for d in ETT_SHA256.values())


def test_borders_and_docstring_examples():
    assert ett_borders(96) == {"train": (0, 8640), "val": (8544, 11520),
                               "test": (11424, 14400)}
    result = doctest.testmod(skmamba.datasets)
    assert result.attempted > 0 and result.failed == 0
