"""The README and docs/ stay short, linked and runnable.

* README.md has at most 300 lines.
* Every relative link in README.md and docs/*.md points to a file that
  exists (and, with ``#anchor``, to a heading that exists).
* Every command in the README's ```sh / ```bash blocks starts with
  something real: a make target of the Makefile, a ``newsbeam`` subcommand
  of pipeline/cli.py with flags the command accepts, a Python module or
  valid ``-c`` code, or a file in the repository.  The docs' shell blocks
  get the same checks, with a few outside tools (gcloud, pip) allowed.
* The docs' ```python blocks run.

Nothing here runs a pipeline.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MAX_README_LINES = 300

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
SHELL = {"sh", "bash", "shell", "console"}
OPERATORS = {"&&", "||", "|", ";", "&", ";;"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Tools outside this repository that docs/ may show (the README may not).
DOCS_TOOLS = {"gcloud", "pip", "export", "mkdir", "printf"}


def blocks(path: Path, languages: set[str]) -> list[str]:
    return [m.group(2) for m in FENCE.finditer(path.read_text(encoding="utf-8")) if m.group(1) in languages]


def prose(path: Path) -> str:
    """The text outside fenced blocks and inline code, where links live."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return INLINE_CODE.sub("", text)


# --- links ----------------------------------------------------------------


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(path)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue  # http:, https:, mailto:
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved)):
            broken.append(f"{target}: no heading #{anchor} in {resolved.name}")
    return broken


def test_readme_is_at_most_300_lines():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail into docs/"


def test_docs_exist_and_the_readme_links_to_each():
    assert DOCS, "docs/ has no .md files"
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in LINK.findall(prose(README))}
    missing = [d.name for d in DOCS if d.resolve() not in linked]
    assert not missing, f"README.md does not link to {missing}"


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_point_to_existing_files(path):
    assert broken_links(path) == []


def test_a_broken_link_is_caught(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("# Here it is\n", encoding="utf-8")
    page.write_text(
        "[ok](there.md) [ok](there.md#here-it-is) [web](https://example.org/x)\n"
        "[gone](missing.md) [no heading](there.md#elsewhere)\n"
        "```sh\n[not a link](inside-code.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page) == ["missing.md: no such file", "there.md#elsewhere: no heading #elsewhere in there.md"]


# --- commands ---------------------------------------------------------------


def strip_comment(line: str) -> str:
    """The line without its shell comment: a # at the start of a word,
    outside quotes."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"':
                continue
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def commands(script: str) -> list[list[str]]:
    """The simple commands of a shell block, as word lists."""
    out: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(strip_comment(line), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        for token in [*lexer, ";"]:
            if token in OPERATORS:
                if words:
                    out.append(words)
                words = []
            else:
                words.append(token)
    return out


@cache
def make_targets() -> frozenset[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([A-Za-z0-9_][A-Za-z0-9_.-]*)\s*:(?!=)", text, re.MULTILINE))
    for phony in re.findall(r"^\.PHONY:(.*)$", text, re.MULTILINE):
        targets.update(phony.split())
    return frozenset(targets)


@cache
def newsbeam_commands() -> frozenset[str]:
    source = (ROOT / "pipeline" / "cli.py").read_text(encoding="utf-8")
    names = set(re.findall(r'command == "([a-z]+)"', source))
    for group in re.findall(r"args\[0\] in \(([^)]*)\)", source):
        names.update(re.findall(r'"([^"]+)"', group))
    return frozenset(names)


@cache
def flags_of(subcommand: str) -> frozenset[str]:
    """The flags ``newsbeam <subcommand>`` accepts."""
    names = {"-h", "--help"}
    module = ROOT / "pipeline" / f"{subcommand}.py"
    if module.exists():
        names.update(re.findall(r'add_argument\(\s*"(--?[\w-]+)"', module.read_text(encoding="utf-8")))
    if subcommand in ("run", "replay", "plan"):
        from pipeline.options import all_flags_parser

        names.update(o for action in all_flags_parser()._actions for o in action.option_strings)
        names.add("--help-beam")
    return frozenset(names)


def module_exists(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    if path.with_suffix(".py").exists() or (path / "__init__.py").exists():
        return True
    return importlib.util.find_spec(name) is not None


def problems(words: list[str], tools: set[str]) -> list[str]:
    """Why a command would not run as shown ([] when it looks real)."""
    while words and ASSIGNMENT.match(words[0]):
        words = words[1:]
    if not words:
        return []
    first, args = words[0], words[1:]
    shown = " ".join(words)
    if first == "make":
        targets = [a for a in args if not a.startswith("-") and not ASSIGNMENT.match(a)]
        return [f"{shown}: no make target {t!r}" for t in targets if t not in make_targets()]
    if first in ("newsbeam", ".venv/bin/newsbeam"):
        if not args:
            return []
        sub = args[0]
        if sub not in newsbeam_commands():
            return [f"{shown}: newsbeam has no command {sub!r}"]
        if sub.startswith("-"):
            return []
        known = flags_of(sub)
        flags = [a.partition("=")[0] for a in args[1:] if a.startswith("-") and a not in ("-", "--")]
        return [f"{shown}: newsbeam {sub} has no flag {f}" for f in flags if f not in known]
    if first in ("python", "python3", ".venv/bin/python"):
        if args[:1] == ["-c"] and len(args) > 1:
            try:
                compile(args[1], "<command>", "exec")
            except SyntaxError as exc:
                return [f"{shown}: {exc}"]
            return []
        if args[:1] == ["-m"] and len(args) > 1:
            return [] if module_exists(args[1]) else [f"{shown}: no module {args[1]}"]
        return [f"{shown}: python without -c or -m"]
    if first in (".", "source"):
        target = args[0] if args else ""
        # .venv is what `make run` creates (the Makefile's VENV).
        return [] if target.startswith(".venv/") or (ROOT / target).exists() else [f"{shown}: no file {target}"]
    if "/" in first:
        path = ROOT / first
        if not path.is_file():
            return [f"{shown}: no file {first}"]
        if path.name == "flex.sh" and args:
            labels = set(re.findall(r"^  ([a-z]+)\)", path.read_text(encoding="utf-8"), re.MULTILINE))
            if args[0] not in labels:
                return [f"{shown}: flex.sh has no command {args[0]!r}"]
        return []
    if first in tools:
        return []
    return [f"{shown}: {first!r} is not a make target, newsbeam, python or a file here"]


def block_problems(path: Path, tools: set[str]) -> list[str]:
    return [p for script in blocks(path, SHELL) for words in commands(script) for p in problems(words, tools)]


def test_the_readme_shows_commands():
    shown = [words for script in blocks(README, SHELL) for words in commands(script)]
    assert ["make", "run"] in shown and ["make", "test"] in shown
    assert shown.index(["make", "run"]) == 0, "the README's first command is make run"


def test_every_readme_command_is_real():
    assert block_problems(README, set()) == []


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_docs_command_is_real(path):
    assert block_problems(path, DOCS_TOOLS) == []


def test_a_wrong_command_is_caught():
    script = (
        "make run && make no-such-target\n"
        "newsbeam runn --input x\n"
        "newsbeam run --input seeds/ --min_char 5   # a typo\n"
        'python -c "print(("\n'
        "python -m pipeline.no_such_module\n"
        "docker build .\n"
    )
    found = [p for words in commands(script) for p in problems(words, set())]
    assert len(found) == 6, found
    assert problems(["newsbeam", "run", "--input", "seeds/", "--direct_num_workers=2", "--streaming"], set()) == []


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_docs_python_blocks_run(path):
    for code in blocks(path, {"python"}):
        exec(compile(code, str(path), "exec"), {})
