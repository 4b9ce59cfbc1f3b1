"""The capped, truncation-checking decompressor the Read stage reads archives with."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import random
import zlib

import pytest
import zstandard

from transforms.core.decompress import Corrupt, DecompressingReader, Truncated, compression_of, read_at_most

COMPRESS = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "deflate": zlib.compress,
}
# Half incompressible, half lines: several deflate blocks and zstd blocks.
DATA = random.Random(7).randbytes(200_000) + b"a line of text\n" * 20_000


class CountingReader(io.BytesIO):
    """BytesIO that counts the compressed bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, n: int | None = -1) -> bytes:
        out = super().read(n)
        self.taken += len(out)
        return out


def reader(data: bytes, compression: str) -> DecompressingReader:
    return DecompressingReader(io.BytesIO(data), compression)


@pytest.mark.parametrize("compression", sorted(COMPRESS))
def test_whole_concatenated_and_line_by_line_reads_give_the_bytes_back(compression):
    packed = COMPRESS[compression](DATA)
    assert read_at_most(reader(packed, compression), 10**8) == DATA
    assert read_at_most(reader(packed + packed, compression), 10**8) == DATA + DATA
    lines = list(io.BufferedReader(reader(packed, compression)))
    assert b"".join(lines) == DATA and lines[-1] == b"a line of text\n"
    assert read_at_most(reader(b"", compression), 10) == b""  # a 0-byte file is empty, not truncated


@pytest.mark.parametrize("compression", sorted(COMPRESS))
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_a_truncated_stream_raises_after_what_it_holds(compression, keep):
    packed = COMPRESS[compression](DATA)
    stream = reader(packed[: int(len(packed) * keep)], compression)
    with pytest.raises(Truncated, match=f"the {compression} stream ends before its end-of-stream marker"):
        read_at_most(stream, 10**8)
    assert stream.produced < len(DATA)


@pytest.mark.parametrize("compression", sorted(COMPRESS))
def test_garbage_and_trailing_garbage_are_corrupt(compression):
    packed = COMPRESS[compression](DATA)
    with pytest.raises(Corrupt, match=compression):
        read_at_most(reader(b"this is not compressed at all", compression), 10**8)
    with pytest.raises(Corrupt):
        read_at_most(reader(packed + b"trailing junk", compression), 10**8)


def test_gzip_zero_padding_after_a_member_is_accepted():
    assert read_at_most(reader(gzip.compress(DATA) + b"\0" * 512, "gzip"), 10**8) == DATA


@pytest.mark.parametrize("compression", sorted(COMPRESS))
def test_a_bomb_is_decompressed_no_further_than_the_cap(compression):
    bomb = COMPRESS[compression](b"\0" * (256 << 20))
    raw = CountingReader(bomb)
    stream = DecompressingReader(raw, compression)
    cap = 1_000_001
    assert len(read_at_most(stream, cap)) == cap
    # What was made beyond the cap: nothing, or for zstd (no output limit
    # in its API) what 16 input bytes can make, well under a MiB.
    assert stream.produced == cap
    assert len(stream._out) < (1 << 20) if compression == "zstd" else stream._out == b""
    if compression in ("gzip", "deflate"):  # ~250 KiB of input: the rest is never read
        assert raw.taken < len(bomb) / 2


def test_compression_is_known_by_suffix():
    assert compression_of("a/b.HTML.GZ") == "gzip"
    assert compression_of("x.jsonl.zst") == "zstd"
    assert compression_of("x.jsonl") is None
