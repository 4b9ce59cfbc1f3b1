"""The dedup evaluation: labelled rewrites and hard negatives built from real
articles, and the scoring of newsbeam against three baselines."""
