"""The baseline: a plain loop calling ``trafilatura.extract`` on every page
of a folder, in one process, with the settings the pipeline's extractor uses
(transforms/core/extract.py): comments and images off, tables and metadata
on, no signal timeout, the same minimum size.

    python -m bench.baseline FOLDER      -> one JSON line: documents, seconds
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import trafilatura
from trafilatura.settings import use_config


def main(folder: str) -> None:
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    logging.getLogger("htmldate").setLevel(logging.ERROR)
    config = use_config()
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "250")
    paths = sorted(Path(folder).rglob("*.html"))
    started = time.perf_counter()
    extracted = 0
    for path in paths:
        text = trafilatura.extract(
            path.read_bytes(),
            config=config,
            output_format="txt",
            include_comments=False,
            include_images=False,
            include_tables=True,
            with_metadata=True,
            favor_precision=False,
        )
        extracted += text is not None
    seconds = time.perf_counter() - started
    print(json.dumps({"documents": len(paths), "extracted": extracted, "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1])
