"""Stable identifiers: the same document gets the same ``doc_id`` on every run."""

from __future__ import annotations

import hashlib

from courlan import normalize_url as _courlan_normalize


def normalize_url(url: str | None) -> str | None:
    """Canonical form of a URL for identity: lower-case host, no fragment or
    tracking parameters.  courlan (a trafilatura dependency) knows the
    tracking parameters the press uses; unparseable URLs are kept stripped."""
    if not url:
        return None
    url = url.strip()
    try:
        return _courlan_normalize(url, strict=True)
    except ValueError:
        return url


def stable_hash(*parts: str) -> str:
    """16 hex characters (64 bits) of BLAKE2b over the parts."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def make_doc_id(url: str | None, rel_path: str | None, source_uri: str) -> str:
    """A document's id: its normalized URL when known, else its path relative
    to the input root (stable across checkouts), else its full source URI."""
    norm = normalize_url(url)
    if norm:
        return stable_hash("url", norm)
    if rel_path:
        return stable_hash("path", rel_path)
    return stable_hash("uri", source_uri)
