"""Every command in README.md and docs/*.md is accepted as written on a fresh clone.

Each `python SCRIPT.py ...` found in a code block or in inline `code` is parsed by the script's own
parse_args() with sys.argv set to it, from the repository root, without running anything: a
misspelled, abbreviated or out-of-range flag fails here. Commands of other Python files (bench/...)
must name a file that exists and flags that file declares. Every `make TARGET` must be a target of
the Makefile. Nothing here builds a model.
"""

import argparse
import importlib
import re
import shlex
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SCRIPTS = ("train_mnist", "train_cifar", "train_text", "train_gan", "generate", "classification")
PYTHONS = {"python", "python3", ".venv/bin/python"}
ENDS = {"|", "||", "&&", ";", "&", ">", ">>", "2>", "2>&1", "<"}  # what ends one command on a line
FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
INLINE = re.compile(r"`([^`]+)`")


def snippets(path):
    """(line number, text) of each code line (continuations joined) and each inline code span."""
    text = path.read_text()
    found = []
    for block in FENCE.finditer(text):
        first = text.count("\n", 0, block.start()) + 2  # the line after the opening fence
        lines = block.group(0).splitlines()[1:-1]
        joined, start = "", None
        for number, line in enumerate(lines, first):
            start = number if start is None else start
            if line.rstrip().endswith("\\"):
                joined += line.rstrip()[:-1] + " "
                continue
            found.append((start, joined + line))
            joined, start = "", None
    prose = FENCE.sub(lambda block: "\n" * block.group(0).count("\n"), text)  # line numbers kept
    for span in INLINE.finditer(prose):
        found.append((prose.count("\n", 0, span.start()) + 1, " ".join(span.group(1).split())))
    return found


def commands(tokens):
    """The commands on one tokenized line: ("python", file, args) and ("make", target, [])."""
    for index, token in enumerate(tokens):
        rest = tokens[index + 1:]
        if token in PYTHONS and rest and rest[0].endswith(".py"):
            args = []
            for arg in rest[1:]:
                if arg in ENDS:
                    break
                args.append(arg)
            if "-I{}" in tokens:  # `xargs -I{} python ... {}`: each item stands where {} is
                args = ["0" if arg == "{}" else arg for arg in args]
            yield "python", rest[0], args
        elif token == "make":
            for target in rest:
                if target in ENDS or target.startswith("-") or "=" in target:
                    break
                yield "make", target, []


def documented():
    """(where, kind, file or target, args) of every command in the documentation."""
    found = []
    for path in DOCS:
        for line, text in snippets(path):
            if not re.search(r"(^|\s)(python3?|\.venv/bin/python|make)\s", text + " "):
                continue
            try:
                tokens = shlex.split(text, comments=True)
            except ValueError as error:  # an unbalanced quote in something that looks like a command
                found.append((f"{path.relative_to(REPO)}:{line}", "unreadable", text, [str(error)]))
                continue
            for kind, name, args in commands(tokens):
                found.append((f"{path.relative_to(REPO)}:{line}", kind, name, args))
    return found


COMMANDS = documented()


def readable(command):
    where, kind, name, args = command
    text = " ".join([name, *args]) if kind != "make" else f"make {name}"
    return f"{where} {text}"[:100]


def test_the_docs_have_commands():
    """The collector finds the commands (a broken pattern would otherwise pass everything)."""
    scripts = {Path(name).stem for _, kind, name, _ in COMMANDS if kind == "python"}
    assert set(SCRIPTS) <= scripts, scripts
    assert {"demo", "test"} <= {name for _, kind, name, _ in COMMANDS if kind == "make"}
    assert len(COMMANDS) >= 40, len(COMMANDS)


def recording_parsers(monkeypatch):
    """Patch argparse so that every parser that parses is kept in the returned list."""
    parsers, original = [], argparse.ArgumentParser.parse_known_args

    def parse_known_args(self, *args, **kwargs):
        parsers.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", parse_known_args)
    return parsers


def check_script(monkeypatch, capsys, script, args):
    module = importlib.import_module(script)
    parsers = recording_parsers(monkeypatch)
    monkeypatch.chdir(REPO)  # relative paths (models folders, manifests) as on a fresh clone
    monkeypatch.setattr(sys, "argv", [f"{script}.py", *args])
    try:
        module.parse_args()
    except SystemExit as exit_:
        pytest.fail(f"{script}.py refused {' '.join(args)!r} (exit {exit_.code}): {capsys.readouterr().err.strip()}")
    assert parsers, f"{script}.parse_args() parsed nothing"
    known = set().union(*(parser._option_string_actions for parser in parsers))
    for arg in args:
        flag = arg.split("=", 1)[0]
        # argparse takes unambiguous prefixes; the docs must spell each flag in full.
        assert not flag.startswith("--") or flag in known, f"{flag} is not a flag of {script}.py (an abbreviation?)"


def check_other_file(name, args):
    path = REPO / name
    assert path.is_file(), f"{name} does not exist"
    declared = set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", path.read_text()))
    for arg in args:
        flag = arg.split("=", 1)[0]
        assert not flag.startswith("--") or flag in declared, f"{name} declares no {flag}"


def makefile_targets():
    text = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.M))


@pytest.mark.parametrize("command", COMMANDS, ids=[readable(command) for command in COMMANDS])
def test_command_is_accepted(command, monkeypatch, capsys):
    where, kind, name, args = command
    assert kind != "unreadable", f"{where}: cannot split {name!r}: {args[0]}"
    if kind == "make":
        assert name in makefile_targets(), f"{where}: the Makefile has no target {name!r}"
    elif Path(name).stem in SCRIPTS and Path(name).parent == Path("."):
        check_script(monkeypatch, capsys, Path(name).stem, args)
    else:
        check_other_file(name, args)
