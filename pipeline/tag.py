"""``newsbeam tag FILE``: tag one saved page or text file, for people tuning
the taxonomy.  Reads, decodes and extracts the file as the pipeline does,
then prints the topics, their scores, the gate's decision on each conflict
and the aliases and event terms behind them (and the conflicts that
matched but were not scored)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.options import MAX_BYTES
from transforms.core.encoding import DecodeError, decode_bytes
from transforms.core.extract import ExtractionError, HtmlExtractor, extract_text
from transforms.core.langid import LanguageDetector
from transforms.core.taxonomy import TaxonomyError, parse_taxonomy, read_taxonomy_text
from transforms.core.topics import ScoringParams, TopicResult, TopicTagger
from transforms.read import READ_ERRORS, kind_of, problem_of, read_document


def _parser() -> argparse.ArgumentParser:
    defaults = ScoringParams()
    parser = argparse.ArgumentParser(prog="newsbeam tag", description=__doc__.splitlines()[0])
    parser.add_argument(
        "file",
        help="a saved page (.html, .htm, .xhtml, .shtml) or plain-text article (anything else), "
        "optionally compressed (.gz, .bz2, .zst, .deflate, .xz)",
    )
    parser.add_argument("--title", help="the article's title, when the file does not carry it")
    parser.add_argument("--lang", help="ISO 639-1 language; detected as in the pipeline when left out")
    parser.add_argument("--taxonomy", help="taxonomy YAML to tag with (default: the packaged one)")
    parser.add_argument("--topic_min_score", type=float, default=defaults.min_score, help="as in newsbeam run")
    parser.add_argument("--topic_min_share", type=float, default=defaults.min_share, help="as in newsbeam run")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def render(path: str, title: str | None, lang: str | None, result: TopicResult, version: str) -> str:
    lines = [
        f"{path}",
        f"  title     {title or '-'}",
        f"  language  {lang or '-'}",
        f"  taxonomy  {version}",
        f"  primary   {result.primary or 'none'}",
        f"  topics    {', '.join(result.topics) or '-'}",
    ]
    why = dict(result.decisions)
    for topic, score in result.scores:
        lines.append(f"  {topic:22} {score:9.3f}  {why[topic]}")
        for ev in (e for e in result.evidence if e.topic == topic):
            lines.append(f"      {ev.tier:8} {ev.kind:9} x{ev.count:<3} {ev.alias}")
    unscored = [f"{topic} ({reason})" for topic, reason in result.decisions if topic not in dict(result.scores)]
    if unscored:
        lines.append(f"  matched, not scored: {'; '.join(unscored)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    params = ScoringParams(min_score=args.topic_min_score, min_share=args.topic_min_share)
    try:
        params.check()  # the thresholds newsbeam run accepts, and no others
    except ValueError as exc:
        print(f"newsbeam tag: {exc}", file=sys.stderr)
        return 2
    try:
        taxonomy = parse_taxonomy(read_taxonomy_text(args.taxonomy))
    except (OSError, TaxonomyError) as exc:
        print(f"newsbeam tag: --taxonomy {args.taxonomy!r}: {exc}", file=sys.stderr)
        return 2
    path = Path(args.file)
    is_html = kind_of(args.file) == "html"
    try:
        data = read_document(args.file, MAX_BYTES)
    except READ_ERRORS as exc:
        problem = problem_of(exc)
        print(f"newsbeam tag: cannot read {args.file}: {problem.reason}: {problem.detail}", file=sys.stderr)
        return 2
    try:
        decoded = decode_bytes(data, is_html=is_html)
        if is_html:
            extracted = HtmlExtractor().extract(decoded.text, source=str(path))
        else:
            extracted = extract_text(decoded.text, title=args.title)
    except OSError as exc:
        print(f"newsbeam tag: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    except (DecodeError, ExtractionError) as exc:
        print(f"newsbeam tag: {args.file}: {exc}", file=sys.stderr)
        return 2
    title = args.title or extracted.title
    lang = args.lang
    if not lang:
        sample = f"{title}\n{extracted.text}" if title else extracted.text
        lang = LanguageDetector().detect(sample, extracted.declared_lang).lang
    result = TopicTagger(taxonomy, params).tag(title, extracted.text, lang)
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(path),
                    "title": title,
                    "lang": lang,
                    **result.columns(taxonomy.version),
                    "decisions": dict(result.decisions),
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print(render(str(path), title, lang, result, taxonomy.version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
