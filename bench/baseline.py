"""The baseline: a plain loop calling ``trafilatura.bare_extraction`` with
metadata on every page of a folder, in one process, with the settings the
pipeline's extractor uses (``TRAFILATURA_SETTINGS`` and ``trafilatura_config``
of transforms/core/extract.py, imported so the two cannot drift apart).

    python -m bench.baseline FOLDER      -> one JSON line: documents, seconds
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import trafilatura

from transforms.core.extract import TRAFILATURA_SETTINGS, trafilatura_config


def main(folder: str) -> None:
    config = trafilatura_config()
    paths = sorted(Path(folder).rglob("*.html"))
    started = time.perf_counter()
    extracted = 0
    for path in paths:
        doc = trafilatura.bare_extraction(path.read_bytes(), config=config, **TRAFILATURA_SETTINGS)
        extracted += doc is not None and bool(doc.text)
    seconds = time.perf_counter() - started
    print(json.dumps({"documents": len(paths), "extracted": extracted, "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1])
