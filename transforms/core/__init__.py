"""Pure building blocks of newsbeam: no Apache Beam imports allowed here.

Everything in this package is plain Python (plus pyarrow, trafilatura and
langdetect), unit-tested with plain pytest, and called from the Beam DoFns in
``transforms``.  Imports point down only: ``pipeline`` -> ``transforms`` ->
``transforms.core``.
"""
