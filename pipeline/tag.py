"""``newsbeam tag FILE``: tag one saved page or text file (or one record of a
JSON Lines file), for people tuning the taxonomy.  Reads, decodes and
extracts it as the pipeline does,
then prints the topics, their scores, the gate's decision on each conflict
and the aliases and event terms behind them (and the conflicts that
matched but were not scored)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from pipeline.options import MAX_BYTES
from transforms.core.encoding import DecodeError, decode_bytes
from transforms.core.extract import ExtractionError, HtmlExtractor, extract_document
from transforms.core.langid import LanguageDetector
from transforms.core.records import DocMeta
from transforms.core.taxonomy import TaxonomyError, parse_taxonomy, read_taxonomy_text
from transforms.core.topics import ScoringParams, TopicResult, TopicTagger
from transforms.read import READ_ERRORS, ReadProblem, jsonl_document, jsonl_records, kind_of, problem_of, read_document


def _parser() -> argparse.ArgumentParser:
    defaults = ScoringParams()
    parser = argparse.ArgumentParser(prog="newsbeam tag", description=__doc__.splitlines()[0])
    parser.add_argument(
        "file",
        help="a saved page (.html, .htm, .xhtml, .shtml), a JSON Lines file (.jsonl, .ndjson: one record of it) "
        "or a plain-text article (anything else), optionally compressed (.gz, .bz2, .zst, .deflate, .xz)",
    )
    parser.add_argument(
        "--line",
        type=int,
        help="the line of a JSON Lines file whose record to tag, as in source_uri's #L<line> "
        "(default: the first record)",
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


class _Refused(Exception):
    """The file (or record) cannot be tagged; the message says why."""


def _extract(args: argparse.Namespace):
    """The file's extracted article, and the language its record declares."""
    kind = kind_of(args.file)
    if args.line is not None and (kind != "jsonl" or args.line < 1):
        raise _Refused(f"--line {args.line}: a line number of a JSON Lines file (.jsonl, .ndjson)")
    try:
        if kind == "jsonl":
            doc = _record(args.file, args.line)
            meta, is_html, text = doc.meta, doc.kind == "html", doc.text
        else:
            meta, is_html = DocMeta(), kind == "html"
            text = decode_bytes(read_document(args.file, MAX_BYTES), is_html=is_html).text
        # As the pipeline: the record's title over the page's, its outlet and URL given to the extractor.
        meta = replace(meta, title=args.title or meta.title)
        extracted = extract_document(HtmlExtractor(), "html" if is_html else "text", text, meta, meta.url or args.file)
        return (replace(extracted, title=meta.title) if meta.title else extracted), meta.lang
    except READ_ERRORS as exc:
        problem = problem_of(exc)
        raise _Refused(f"cannot read {args.file}: {problem.reason}: {problem.detail}") from exc
    except OSError as exc:
        raise _Refused(f"cannot read {args.file}: {exc}") from exc
    except (DecodeError, ExtractionError) as exc:
        raise _Refused(f"{args.file}: {exc}") from exc


def _record(path: str, line: int | None):
    """The record on ``line`` of a JSON Lines file (None: the first), read as the pipeline reads it."""
    for lineno, data in jsonl_records(path, MAX_BYTES):
        if line is not None and lineno != line and lineno != 0:
            continue
        if isinstance(data, ReadProblem):
            where = f" (line {lineno})" if lineno else ""
            raise _Refused(f"cannot read {path}{where}: {data.reason}: {data.detail}")
        doc = jsonl_document(f"{path}#L{lineno}", data, None)
        if isinstance(doc, ReadProblem):
            raise _Refused(f"{path} line {lineno}: {doc.reason}: {doc.detail}")
        return doc
    raise _Refused(f"--line {line}: {path} has no record on that line")


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
    try:
        extracted, record_lang = _extract(args)
    except _Refused as exc:
        print(f"newsbeam tag: {exc}", file=sys.stderr)
        return 2
    title = args.title or extracted.title
    lang = args.lang
    if not lang:
        # A record's own language is declared, as a page's <html lang> is: the detector weighs it.
        sample = f"{title}\n{extracted.text}" if title else extracted.text
        lang = LanguageDetector().detect(sample, record_lang or extracted.declared_lang).lang
    result = TopicTagger(taxonomy, params).tag(title, extracted.text, lang)
    if args.json:
        print(
            json.dumps(
                {
                    "file": args.file,
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
        shown = f"{args.file}#L{args.line}" if args.line else args.file
        print(render(shown, title, lang, result, taxonomy.version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
