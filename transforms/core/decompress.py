"""Decompressing a file's bytes with a hard cap and a truncation check.

Beam's own compressed reader decompresses whole input chunks at once (so a
bomb is inflated before any cap applies), returns the data of a truncated
archive as if it were complete, and has no ``readline(size)``.  This reader
wraps a binary file object holding ``.gz``, ``.bz2``, ``.xz``, ``.zst`` or
``.deflate`` bytes as a raw stream: every call produces at most what was
asked for (``.zst``: a bounded amount more, kept for the next call), and an
input that ends before its end-of-stream marker raises :class:`Truncated`.
Concatenated streams (``cat a.gz b.gz``) are read one after another, as
the stdlib modules and Beam do; trailing bytes that are not another stream
are a decompression error, as in Beam.

Pure code: any object with ``read(n) -> bytes`` will do, local or ``gs://``.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from typing import Any, BinaryIO

# Suffix -> compression, as Beam detects it for the suffixes newsbeam reads.
COMPRESSIONS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd", ".deflate": "deflate"}
_READ_SIZE = 1 << 16
# A zstd RLE block turns 4 input bytes into up to 128 KiB, and zstandard's
# decompressobj has no output limit: fed 16 bytes at a time, one call
# yields at most ~640 KiB however hostile the input (and costs ~4 ms per
# 1 MB of output, measured).
_ZSTD_SLICE = 16


class Truncated(EOFError):
    """The compressed input ended before its end-of-stream marker."""


class Corrupt(ValueError):
    """The compressed input is not a valid stream of its kind."""


def compression_of(path: str) -> str | None:
    """'gzip', 'bzip2', 'xz', 'zstd', 'deflate', or None for a plain file."""
    name = path.lower()
    for suffix, compression in COMPRESSIONS.items():
        if name.endswith(suffix):
            return compression
    return None


def _decompressor(compression: str) -> tuple[Any, tuple[type[Exception], ...]]:
    """A fresh decompressor, and the errors it raises on bad input."""
    if compression == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS), (zlib.error,)
    if compression == "deflate":
        return zlib.decompressobj(), (zlib.error,)  # zlib-wrapped deflate, what Beam reads as .deflate
    if compression == "bzip2":
        return bz2.BZ2Decompressor(), (OSError,)
    if compression == "xz":
        return lzma.LZMADecompressor(), (lzma.LZMAError,)
    if compression == "zstd":
        import zstandard  # Beam's own .zst dependency; imported only when a .zst is read

        return zstandard.ZstdDecompressor(max_window_size=1 << 31).decompressobj(), (zstandard.ZstdError,)
    raise ValueError(f"unknown compression {compression!r}")


class DecompressingReader(io.RawIOBase):
    """The decompressed bytes of ``raw`` as a raw binary stream.

    Wrap it in ``io.BufferedReader`` for ``readline(size)``; use
    :func:`read_at_most` to read a whole document under a cap.
    """

    def __init__(self, raw: BinaryIO, compression: str) -> None:
        super().__init__()
        self._raw = raw
        self._compression = compression
        self._zlib = compression in ("gzip", "deflate")
        self._d, self._errors = _decompressor(compression)
        self._pending = b""  # input read but not yet given to the decompressor
        self._out = b""  # output made but not yet returned (zstd only)
        self._member_started = False
        self._done = False
        self.produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not len(view):
            return 0
        out = self._out or self._next_output(len(view))
        chunk, self._out = out[: len(view)], out[len(view) :]
        view[: len(chunk)] = chunk
        self.produced += len(chunk)
        return len(chunk)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()

    def _next_output(self, limit: int) -> bytes:
        """Up to ``limit`` bytes of output (zstd: possibly more), b"" at the end."""
        while not self._done:
            if self._d.eof:
                self._next_member()
                continue
            if not self._pending and self._wants_input():
                self._pending = self._raw.read(_READ_SIZE)
                if not self._pending:
                    if not self._member_started:  # a 0-byte file: empty, as gzip(1) sees it
                        self._done = True
                        return b""
                    out = self._feed(limit)  # drain what the decompressor still holds
                    if out or self._d.eof:
                        return out
                    raise Truncated(
                        f"the {self._compression} stream ends before its end-of-stream marker "
                        f"after {self.produced} bytes of output: the file is truncated"
                    )
            out = self._feed(limit)
            if out:
                return out
        return b""

    def _wants_input(self) -> bool:
        if self._zlib or self._compression == "zstd":
            return True  # _pending (zlib's unconsumed tail) is empty here
        return self._d.needs_input

    def _feed(self, limit: int) -> bytes:
        try:
            return self._decompress(limit)
        except self._errors as exc:
            raise Corrupt(f"the {self._compression} stream is corrupt: {type(exc).__name__}: {exc}") from exc

    def _decompress(self, limit: int) -> bytes:
        data, d = self._pending, self._d
        if data:
            self._member_started = True
        if self._zlib:
            out = d.decompress(data, limit)
            self._pending = d.unconsumed_tail
        elif self._compression == "zstd":
            out, self._pending = d.decompress(data[:_ZSTD_SLICE]), data[_ZSTD_SLICE:]
        else:
            out, self._pending = d.decompress(data, limit), b""
        return out

    def _next_member(self) -> None:
        """After one stream's end: another stream follows, or the input ends."""
        rest = self._d.unused_data + self._pending
        while True:
            if self._compression == "gzip":
                rest = rest.lstrip(b"\0")  # zero padding after a member, which gzip(1) accepts
            if rest:
                break
            rest = self._raw.read(_READ_SIZE)
            if not rest:
                self._done = True
                return
        self._d, self._errors = _decompressor(self._compression)
        self._pending = rest


def read_at_most(stream: BinaryIO, cap: int) -> bytes:
    """Up to ``cap`` bytes of ``stream``, fewer only at its end."""
    parts: list[bytes] = []
    got = 0
    while got < cap:
        part = stream.read(cap - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)
