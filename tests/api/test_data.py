"""api/data.py: sources (zip, csv, URL), the checks on broken files, and the hourly index."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from api.config import BUNDLED_DATASET, FEATURES, TARGET, Settings
from api.data import DataError, _fetch_data, _process_data, load_hourly

HOUR_CSV_ROWS = 17379


@pytest.fixture(scope="module")
def hour_csv(dataset_source: str) -> bytes:
    """The bytes of hour.csv, whichever container BIKE_SHARING_SOURCE is."""
    if dataset_source.endswith(".zip"):
        with zipfile.ZipFile(dataset_source) as archive:
            name = next(n for n in archive.namelist() if n.endswith("hour.csv"))
            return archive.read(name)
    return Path(dataset_source).read_bytes()


@pytest.fixture(scope="module")
def hour_frame(hour_csv: bytes, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("csv") / "hour.csv"
    path.write_bytes(hour_csv)
    return pd.read_csv(path)


def _write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _error(source: Path | str, **kwargs: Path) -> str:
    with pytest.raises(DataError) as info:
        _fetch_data(str(source), **kwargs)
    message = str(info.value)
    assert "\n" not in message, "one line, not a traceback"
    return message


def test_zip_source_reads_hour_csv(tmp_path: Path, hour_csv: bytes) -> None:
    # UCI's zip holds day.csv too; the loader must pick hour.csv.
    source = _write_zip(
        tmp_path / "bike.zip", {"day.csv": b"x\n1\n", "Readme.txt": b"hi", "hour.csv": hour_csv}
    )
    frame = _fetch_data(str(source))
    assert len(frame) == HOUR_CSV_ROWS
    assert frame.attrs["sha256"] == hashlib.sha256(hour_csv).hexdigest()
    assert frame.attrs["source"] == str(source)


def test_csv_source_has_the_same_content_hash_as_the_zip(tmp_path: Path, hour_csv: bytes) -> None:
    path = tmp_path / "hour.csv"
    path.write_bytes(hour_csv)
    zipped = _write_zip(tmp_path / "bike.zip", {"hour.csv": hour_csv})
    assert _fetch_data(str(path)).attrs["sha256"] == _fetch_data(str(zipped)).attrs["sha256"]


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A local HTTP server (127.0.0.1, free port) serving a folder; yields (folder, base URL)."""
    folder = tmp_path / "www"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder))
    )
    # A short poll: shutdown() waits for it (0.5 s by default, per test).
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_url_source_downloads_once_into_the_cache(
    http_root: tuple[Path, str], tmp_path: Path, hour_csv: bytes
) -> None:
    folder, base = http_root
    _write_zip(folder / "bike+sharing+dataset.zip", {"hour.csv": hour_csv})
    url = f"{base}/bike+sharing+dataset.zip"
    cache = tmp_path / "cache"
    frame = _fetch_data(url, data_dir=cache)
    assert len(frame) == HOUR_CSV_ROWS
    cached = list(cache.iterdir())
    assert [p.name.endswith("bike+sharing+dataset.zip") for p in cached] == [True]
    # The server's copy disappears: the second read comes from the cache.
    (folder / "bike+sharing+dataset.zip").unlink()
    assert _fetch_data(url, data_dir=cache).attrs["sha256"] == frame.attrs["sha256"]


def test_url_not_found_is_a_download_error(http_root: tuple[Path, str], tmp_path: Path) -> None:
    _, base = http_root
    message = _error(f"{base}/missing.zip", data_dir=tmp_path / "cache")
    assert "download failed" in message and "404" in message
    assert "BIKE_SHARING_SOURCE" in message


def test_an_unreachable_host_names_the_variable_to_change(tmp_path: Path) -> None:
    """Offline: the message says which setting holds the URL and what to do instead."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free, so nothing answers there
    message = _error(f"http://127.0.0.1:{port}/bike.zip", data_dir=tmp_path / "cache")
    assert "download failed" in message and "BIKE_SHARING_SOURCE" in message
    assert "bundled copy" in message


def test_the_default_source_is_the_bundled_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIKE_SHARING_SOURCE", raising=False)
    assert Settings().bike_sharing_source == str(BUNDLED_DATASET)
    # compose passes the variable through empty when the user set nothing.
    monkeypatch.setenv("BIKE_SHARING_SOURCE", "")
    assert Settings().bike_sharing_source == str(BUNDLED_DATASET)
    digest = hashlib.sha256(BUNDLED_DATASET.read_bytes()).hexdigest()
    assert digest in (BUNDLED_DATASET.parent / "README.md").read_text(), "update the README"
    frame = _fetch_data(str(BUNDLED_DATASET))
    assert len(frame) == HOUR_CSV_ROWS


def test_truncated_download_is_not_cached(
    http_root: tuple[Path, str], tmp_path: Path, hour_csv: bytes
) -> None:
    folder, base = http_root
    whole = _write_zip(tmp_path / "whole.zip", {"hour.csv": hour_csv}).read_bytes()
    (folder / "cut.zip").write_bytes(whole[: len(whole) // 2])
    cache = tmp_path / "cache"
    message = _error(f"{base}/cut.zip", data_dir=cache)
    assert "not a readable zip archive" in message
    assert list(cache.iterdir()) == [], "a bad download must not poison the cache"


def test_truncated_zip(tmp_path: Path, hour_csv: bytes) -> None:
    whole = _write_zip(tmp_path / "whole.zip", {"hour.csv": hour_csv}).read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole[: len(whole) // 2])
    assert "not a readable zip archive (truncated?)" in _error(cut)


def test_file_named_zip_that_is_not_a_zip(tmp_path: Path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_text("<html>rate limited</html>")
    assert "not a readable zip archive" in _error(fake)


def test_zip_without_hour_csv(tmp_path: Path) -> None:
    source = _write_zip(tmp_path / "day.zip", {"day.csv": b"a,b\n1,2\n"})
    message = _error(source)
    assert "no hour.csv" in message and "day.csv" in message


def test_missing_columns(tmp_path: Path, hour_frame: pd.DataFrame) -> None:
    path = tmp_path / "hour.csv"
    hour_frame.drop(columns=["cnt", "hum"]).to_csv(path, index=False)
    message = _error(path)
    assert "missing columns" in message and "'hum'" in message and "'cnt'" in message


def test_wrong_dtype_names_column_and_value(tmp_path: Path, hour_frame: pd.DataFrame) -> None:
    frame = hour_frame.astype({"temp": object})
    frame.loc[5, "temp"] = "warm"
    path = tmp_path / "hour.csv"
    frame.to_csv(path, index=False)
    message = _error(path)
    assert "'temp'" in message and "'warm'" in message and "row 6" in message


def test_integer_column_with_fractions(tmp_path: Path, hour_frame: pd.DataFrame) -> None:
    frame = hour_frame.astype({"hr": float})
    frame.loc[0, "hr"] = 0.5
    path = tmp_path / "hour.csv"
    frame.to_csv(path, index=False)
    assert "'hr' should hold integers" in _error(path)


def test_too_few_rows(tmp_path: Path, hour_frame: pd.DataFrame) -> None:
    path = tmp_path / "hour.csv"
    hour_frame.head(1000).to_csv(path, index=False)
    assert "only 1000 rows" in _error(path)


def test_missing_month(tmp_path: Path, hour_frame: pd.DataFrame) -> None:
    path = tmp_path / "hour.csv"
    hour_frame[~hour_frame["dteday"].str.startswith("2011-07")].to_csv(path, index=False)
    assert "['2011-07']" in _error(path)


def test_bad_date(tmp_path: Path, hour_frame: pd.DataFrame) -> None:
    frame = hour_frame.copy()
    frame.loc[3, "dteday"] = "01/01/2011"
    path = tmp_path / "hour.csv"
    frame.to_csv(path, index=False)
    assert "'dteday' should be YYYY-MM-DD, got '01/01/2011'" in _error(path)


def test_missing_values(tmp_path: Path, hour_frame: pd.DataFrame) -> None:
    frame = hour_frame.copy()
    frame.loc[3, "windspeed"] = None
    path = tmp_path / "hour.csv"
    frame.to_csv(path, index=False)
    assert "missing values in columns ['windspeed']" in _error(path)


def test_duplicate_hours(tmp_path: Path, hour_frame: pd.DataFrame) -> None:
    path = tmp_path / "hour.csv"
    pd.concat([hour_frame, hour_frame.head(2)]).to_csv(path, index=False)
    assert "duplicate (dteday, hr)" in _error(path)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.csv", b"", "not a readable CSV file"),
        ("binary.csv", bytes(range(256)) * 64, "not a readable CSV file"),
        ("hour.parquet", b"PAR1", "expected a .zip or .csv file"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert expected in _error(path)


def test_missing_file(tmp_path: Path) -> None:
    message = _error(tmp_path / "nowhere.zip")
    assert "no such file" in message and "BIKE_SHARING_SOURCE" in message


def test_process_indexes_by_hour(dataset_source: str) -> None:
    hourly = _process_data(_fetch_data(dataset_source))
    assert isinstance(hourly.index, pd.DatetimeIndex)
    assert hourly.index.name == "datetime"
    assert hourly.index.is_monotonic_increasing and hourly.index.is_unique
    assert hourly.index[0] == pd.Timestamp("2011-01-01 00:00")
    assert hourly.index[-1] == pd.Timestamp("2012-12-31 23:00")
    first = hourly.iloc[0]
    assert first["dteday"] == "2011-01-01" and isinstance(first["dteday"], str)
    # Every row's index is its date plus its hour.
    rebuilt = pd.to_datetime(hourly["dteday"]) + pd.to_timedelta(hourly["hr"], unit="h")
    assert (rebuilt.to_numpy() == hourly.index.to_numpy()).all()
    assert set(FEATURES) | {TARGET} <= set(hourly.columns)
    assert all(hourly[c].dtype == "float64" for c in ("temp", "atemp", "hum", "windspeed"))


def test_load_hourly_caches_and_returns_copies(dataset_source: str) -> None:
    first = load_hourly(dataset_source)
    first["temp"] = -1.0
    second = load_hourly(dataset_source)
    assert (second["temp"] >= 0).all(), "a caller's change must not leak into the cache"
    assert len(second) == HOUR_CSV_ROWS
