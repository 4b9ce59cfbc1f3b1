"""Packaging for newsbeam.

The same file is what Dataflow workers install with ``--setup_file``, so the
runtime dependencies listed here are exactly what the pipeline needs on a
worker; test and dev tools live in extras.
"""

from setuptools import find_packages, setup

# Beam is pinned exactly: the Dataflow worker image, the lock file and the
# tests must all agree on one SDK version.
BEAM_VERSION = "2.77.0"

INSTALL_REQUIRES = [
    f"apache-beam[gcp]=={BEAM_VERSION}",
    "trafilatura==2.3.1",
    # trafilatura imports lxml.html.clean, split out of lxml >= 5.2.
    "lxml>=5.2",
    "lxml_html_clean>=0.4",
    "feedparser>=6.0.11,<7",
    "langdetect==1.0.9",
    "pyarrow>=14",
    # Encoding detection for pages without a usable declared charset.
    "charset-normalizer>=3.3,<4",
    # Dedup: a fast, seedable 2-gram hash, and vectorised comparison of the hashes.
    "numpy>=1.26",
    "mmh3>=4.1",
    # Topic tagging: one Aho-Corasick automaton over every alias (C, fast
    # to build and to scan), and the taxonomy's YAML.
    "pyahocorasick>=2.1,<3",
    "PyYAML>=6",
]

EXTRAS_REQUIRE = {
    "test": [
        "pytest>=8",
        "pytest-httpserver>=1.0",
        # `make test` spreads the test files over the machine's cores.
        "pytest-xdist>=3.5",
        # The docs' queries use its Python-style lambdas (1.3 and later).
        "duckdb>=1.3",
        "ruff>=0.6",
        # The report page is checked in Debian's Chromium (the browser itself
        # is installed by the test, not downloaded by Playwright).
        "playwright>=1.40",
    ],
    # Baselines of `make eval-dedup` only; the pipeline does not use it.
    "eval": ["datasketch>=1.6"],
    # `make bench`: peak memory of the pipeline's whole process tree.
    "bench": ["psutil>=5.9"],
}

setup(
    name="newsbeam",
    version="0.1.0",
    description="Streaming news ingest on Apache Beam: extract, detect language, "
    "deduplicate wire copy, tag conflict topics, write partitioned Parquet.",
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["pipeline", "pipeline.*", "transforms", "transforms.*"]),
    include_package_data=True,
    package_data={"transforms": ["core/data/*.yaml"]},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": ["newsbeam=pipeline.cli:main"]},
)
