"""DBN files: header checks before any decoding, then the records as numpy chunks in bounded memory.

A Databento download is a zstd stream of one or more frames holding the DBN metadata and then fixed-size
records. The reader decompresses frame by frame and refuses, naming the file, a stream that stops inside a
frame or a record (a truncated or interrupted download): the databento client only warns about it and
NautilusTrader's loader imports the records it got, so a half file would look like a shorter, complete one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import databento
import databento_dbn
import numpy as np
import pandas as pd
import zstandard
from databento.common.constants import SCHEMA_STRUCT_MAP, SCHEMA_STRUCT_MAP_V1, SCHEMA_STRUCT_MAP_V2

RECORDS_PER_CHUNK = 1 << 20  # about 80 MB of mbp-1 records at a time
_READ_BYTES = 1 << 22
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_PREAMBLE = 8  # "DBN", the version byte, the metadata length (u32)


class DatabentoImportError(ValueError):
    """Bad input: the message is one line naming the file or option and what would be valid."""


@dataclass(frozen=True)
class DbnFile:
    """A DBN file whose header was checked: what it holds, before anything is decoded."""

    path: Path
    option: str
    dataset: str
    schema: str
    metadata: databento_dbn.Metadata

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def dtype(self) -> np.dtype:
        struct_map = {1: SCHEMA_STRUCT_MAP_V1, 2: SCHEMA_STRUCT_MAP_V2}.get(self.metadata.version, SCHEMA_STRUCT_MAP)
        return np.dtype(struct_map[databento_dbn.Schema.from_str(self.schema)]._dtypes)

    @property
    def stype_in(self) -> str:
        return str(self.metadata.stype_in) if self.metadata.stype_in is not None else "mixed"


def inspect_dbn(path: str | Path, option: str, schemas: Sequence[str]) -> DbnFile:
    """Read only the DBN header, so wrong files are refused before the long decoding starts."""
    path = Path(path)
    where = f"{option} {path.name}"
    if not path.is_file():
        raise DatabentoImportError(f"{where}: no such file")
    if path.stat().st_size == 0:
        raise DatabentoImportError(f"{where}: empty file, expected a Databento .dbn.zst file")
    try:
        store = databento.DBNStore.from_file(path)
        metadata = store.metadata
    except (databento.BentoError, databento_dbn.DBNError, ValueError, OSError) as exc:
        if _cut_zstd(path):
            raise DatabentoImportError(
                f"{where}: truncated: the zstd stream stops inside its first frame, before the DBN header is "
                "complete; the download is incomplete, fetch the file again",
            ) from None
        raise DatabentoImportError(f"{where}: not a Databento DBN file ({one_line(exc)})") from None
    if store.compression != databento.Compression.ZSTD:
        raise DatabentoImportError(
            f"{where}: uncompressed DBN; NautilusTrader reads only zstd-compressed .dbn.zst "
            f"(compress it with: zstd {path.name})",
        )
    schema = str(metadata.schema) if metadata.schema is not None else "mixed"
    if schema not in schemas:
        raise DatabentoImportError(f"{where}: schema is {schema}, {option} takes {', '.join(schemas)}")
    return DbnFile(path=path, option=option, dataset=str(metadata.dataset), schema=schema, metadata=metadata)


def record_chunks(file: DbnFile, records: int = RECORDS_PER_CHUNK) -> Iterator[np.ndarray]:
    """The file's records as structured arrays of at most ``records`` rows; a truncated file is an error
    (raised after the last whole chunk, so the caller must not keep what it wrote).

    Each chunk is its own array, filled straight from the decompressed pieces (one copy per byte)."""
    dtype = file.dtype
    want = dtype.itemsize * records
    out = np.empty(want, np.uint8)
    filled = 0
    skip: int | None = None
    head = b""
    count = 0
    last_ts = 0
    has_ts = "ts_recv" in (dtype.names or ())
    pieces = _decompressed(file)
    while True:
        try:
            piece = memoryview(next(pieces))
        except StopIteration:
            break
        except _TruncatedFrame:
            raise DatabentoImportError(
                f"{file.option} {file.name}: truncated: the zstd stream stops inside a frame after "
                f"{count + filled // dtype.itemsize:,} whole records{_last_at(last_ts)} (the header promises data "
                f"to {_iso(file.metadata.end)}); the download is incomplete, fetch the file again",
            ) from None
        if skip is None:
            head += piece
            if len(head) < _PREAMBLE:
                continue
            skip = _PREAMBLE + int.from_bytes(head[4:8], "little")
            piece, head = memoryview(head), b""
        if skip:
            dropped = min(skip, len(piece))
            piece, skip = piece[dropped:], skip - dropped
        while len(piece):
            take = min(want - filled, len(piece))
            out[filled : filled + take] = np.frombuffer(piece[:take], np.uint8)
            filled += take
            piece = piece[take:]
            if filled == want:
                chunk = out.view(dtype)
                count += len(chunk)
                last_ts = int(chunk["ts_recv"][-1]) if has_ts else last_ts
                yield chunk
                out, filled = np.empty(want, np.uint8), 0
    whole = filled // dtype.itemsize
    if whole:
        chunk = out[: whole * dtype.itemsize].view(dtype)
        count += whole
        last_ts = int(chunk["ts_recv"][-1]) if has_ts else last_ts
        yield chunk
    loose = filled - whole * dtype.itemsize
    if loose:
        raise DatabentoImportError(
            f"{file.option} {file.name}: truncated: ends inside a record ({loose} of {dtype.itemsize} bytes) after "
            f"{count:,} whole records{_last_at(last_ts)}; the download is incomplete, fetch the file again",
        )


def _decompressed(file: DbnFile) -> Iterator[bytes]:
    """The file's zstd frames decompressed in pieces; a stream that stops inside a frame is an error."""
    context = zstandard.ZstdDecompressor()
    frame = context.decompressobj()
    inside = False
    with file.path.open("rb") as handle:
        while data := handle.read(_READ_BYTES):
            while data:
                try:
                    out = frame.decompress(data)
                except zstandard.ZstdError as exc:
                    raise DatabentoImportError(
                        f"{file.option} {file.name}: corrupt zstd data ({one_line(exc)}); fetch the file again",
                    ) from None
                inside = True
                if out:
                    yield out
                if frame.eof:
                    data = frame.unused_data
                    frame = context.decompressobj()
                    inside = False
                else:
                    data = b""
    if inside:
        raise _TruncatedFrame


def _cut_zstd(path: Path) -> bool:
    """A zstd stream (by its magic number) that ends inside a frame."""
    with path.open("rb") as handle:
        if handle.read(4) != _ZSTD_MAGIC:
            return False
    frame = zstandard.ZstdDecompressor().decompressobj()
    try:
        frame.decompress(path.read_bytes())
    except zstandard.ZstdError:
        return False
    return not frame.eof


class _TruncatedFrame(Exception):
    """The zstd stream ended inside a frame."""


def _iso(ts_ns: int | None) -> str:
    return pd.Timestamp(ts_ns, tz="UTC").isoformat() if ts_ns else "its end"


def _last_at(ts_ns: int) -> str:
    return f", the last at {_iso(ts_ns)}" if ts_ns else ""


def one_line(exc: BaseException) -> str:
    return re.sub(r"\s*\n\s*", " ", str(exc)).strip() or type(exc).__name__
