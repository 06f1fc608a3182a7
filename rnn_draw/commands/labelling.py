"""classification.py on a user's own inputs, without labels: pictures (files, folders, globs) or lines
of text (a UTF-8 file, or - for standard input) -> one row each: the class, its posterior, bits per
dimension, the familiarity and the verdict (a class, or "none of these"), printed as a table and written
as CSV or JSON lines. An input that cannot be read is a row with its reason; `label(args)` runs it."""

import csv
import glob
import io
import json
import sys
from pathlib import Path

import numpy as np

import config
from rnn_draw.commands import calibrating
from rnn_draw.library import UserError, atomic_write, background, datasets, folders, novelty, text

COLUMNS = ("input", "class", "posterior", "bits_per_dim", "familiarity", "verdict")
FORMATS = {".csv": "CSV", ".jsonl": "JSON lines", ".json": "JSON lines"}


def output_path(args):
    """Where the rows go (--output, else config.LABELS_FILE), refused before any work if its format is unknown."""
    path = Path(args.output or config.LABELS_FILE)
    if path.suffix.lower() not in FORMATS:
        raise UserError(f"--output {path}: name a .csv or .jsonl file (CSV or JSON lines)")
    if path.is_dir():
        raise UserError(f"--output {path}: a folder; name a .csv or .jsonl file")
    return path


def read_lines(source):
    """(names, strings, reasons) of a text file's lines (source '-': standard input), whitespace runs
    collapsed; names are line numbers, reasons None for a line to score. A binary, non-UTF-8 or empty
    file is a UserError (nothing to label)."""
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as error:
        raise UserError(f"{source}: cannot read it ({(error.strerror or str(error)).lower()})") from None
    name = "standard input" if source == "-" else source
    lines = text.decoded(raw, name).splitlines()
    strings = [" ".join(line.split()) for line in lines]
    reasons = [None if string else "empty line" for string in strings]
    return [str(number) for number in range(1, len(lines) + 1)], strings, reasons


def picture_files(paths):
    """The files named by --inputs, in order: files as given, folders searched (recursively) for pictures
    of datasets.IMAGE_SUFFIXES, patterns the shell left unexpanded globbed; a name that matches nothing
    stays, to be reported."""
    found = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found += sorted(str(p) for p in path.rglob("*") if p.is_file() and p.suffix.lower() in datasets.IMAGE_SUFFIXES)
        elif not path.exists() and glob.has_magic(given):
            found += sorted(glob.glob(str(path), recursive=True)) or [given]
        else:
            found.append(given)
    return found


def read_pictures(paths, channels):
    """(names, pictures, reasons): each file read as a uint8 picture (None, with its reason, when it cannot be)."""
    names, pictures, reasons = [], [], []
    for name in picture_files(paths):
        names.append(name)
        try:
            if not Path(name).is_file():
                raise UserError(f"{name}: no such file" if not Path(name).exists() else f"{name}: not a file")
            pictures.append(datasets.read_picture(name, channels))
            reasons.append(None)
        except (UserError, OSError) as error:
            pictures.append(None)
            reasons.append(str(error).removeprefix(f"{name}: "))
    return names, pictures, reasons


def unseen_reasons(strings, reasons, vocabulary):
    """`reasons`, with one for each string holding characters the models never saw."""
    known = set(vocabulary[1:])
    out = []
    for string, reason in zip(strings, reasons):
        unseen = sorted(set(string) - known) if reason is None else []
        shown = " ".join(repr(char) for char in unseen[:5])
        out.append(reason or (f"characters the models never saw: {shown}" if unseen else None))
    return out


def score_groups(folder, inputs, model, args):
    """A Scored of readable `inputs`: pictures of each size go through the models' preprocessing
    together (each size shrunk as training shrank its images), strings all at once."""
    if folders.is_text(folder[0]):
        return calibrating.scored(folder, inputs, model, args.uniform_priors, args.batch_size)
    shapes = [picture.shape for picture in inputs]
    order = sorted(range(len(inputs)), key=lambda index: shapes[index])
    parts, rows = [], []
    for shape in dict.fromkeys(shapes[index] for index in order):
        group = [index for index in order if shapes[index] == shape]
        parts.append(calibrating.scored(folder, np.stack([inputs[index] for index in group]), model, args.uniform_priors, args.batch_size))
        rows += group
    inverse = np.argsort(rows)

    def joined(field):
        values = [getattr(part, field) for part in parts]
        return None if values[0] is None else np.concatenate(values)[inverse]

    return parts[0]._replace(**{field: joined(field) for field in ("predictions", "scores", "dims", "background_nats")})


def calibration(models_dir):
    """(record, background model) of a folder, or (None, None) with a note when it has none."""
    try:
        return novelty.load(models_dir), background.load(models_dir)
    except UserError as error:
        print(f"note: {error}; every input gets a class")
        return None, None


def rows_of(names, reasons, result, record, args, class_names):
    """One dict per input (COLUMNS), in the inputs' order."""
    rows = [dict(zip(COLUMNS, (name, "", None, None, None, f"unread: {reason}"))) for name, reason in zip(names, reasons)]
    readable = [index for index, reason in enumerate(reasons) if reason is None]
    if result is None:
        return rows
    top = calibrating.posteriors(result).max(axis=1)
    bits, _ = novelty.best_class_bits(result.scores, result.dims)
    method = args.novelty_method or record["method"] if record else None
    familiar = calibrating.familiarity(result, record, method) if record else None
    limit = novelty.threshold(record["quantiles"][method], args.acceptance or record["acceptance"]) if record else None
    for position, index in enumerate(readable):
        name = class_names[result.predictions[position]]
        known = record is None or familiar[position] >= limit
        rows[index].update({"class": name, "posterior": round(float(top[position]), 4),
                            "bits_per_dim": round(float(bits[position]), 4),
                            "familiarity": None if familiar is None else round(float(familiar[position]), 4),
                            "verdict": name if known else novelty.NONE_OF_THESE})
    return rows


def table(rows):
    """The rows as an aligned text table."""
    shown = [[("" if row[column] is None else str(row[column])) for column in COLUMNS] for row in rows]
    widths = [min(40, max(len(column), *(len(cells[i]) for cells in shown))) for i, column in enumerate(COLUMNS)]
    lines = ["  ".join(column.ljust(width) for column, width in zip(COLUMNS, widths))]
    lines += ["  ".join(cell[:width].ljust(width) for cell, width in zip(cells, widths)) for cells in shown]
    return "\n".join(line.rstrip() for line in lines)


def write_rows(path, rows):
    """The rows as CSV or JSON lines (by the file's suffix), written atomically."""
    if path.suffix.lower() == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        content = buffer.getvalue()
    else:
        content = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    atomic_write(path, lambda tmp: Path(tmp).write_text(content, encoding="utf-8"))


def summary(rows):
    """One line: how many inputs got each verdict."""
    counts = {}
    for row in rows:
        verdict = "unread" if row["verdict"].startswith("unread") else row["verdict"]
        counts[verdict] = counts.get(verdict, 0) + 1
    return f"{len(rows)} inputs: " + ", ".join(f"{count} {verdict}" for verdict, count in sorted(counts.items(), key=lambda x: -x[1]))


def label(args, folder):
    """Label --inputs pictures or --text_file lines with one models folder (manifest, models): print, write."""
    manifest = folder[0]
    out = output_path(args)
    if folders.is_text(manifest):
        if args.inputs:
            raise UserError(f"--inputs takes pictures; {args.models_dir[0]} holds character models: give --text_file")
        names, inputs, reasons = read_lines(args.text_file)
        reasons = unseen_reasons(inputs, reasons, manifest["vocabulary"])
    else:
        if args.text_file:
            raise UserError(f"--text_file takes lines of text; {args.models_dir[0]} holds image models: give --inputs")
        names, inputs, reasons = read_pictures(args.inputs, manifest["channels"])
    readable = [value for value, reason in zip(inputs, reasons) if reason is None]
    if not readable:
        first = next((f"{name}: {reason}" for name, reason in zip(names, reasons)), "no inputs found")
        raise UserError(f"nothing to label: {len(names)} input(s), none readable ({first})")
    record, model = calibration(args.models_dir[0])
    result = score_groups(folder, readable, model, args)
    rows = rows_of(names, reasons, result, record, args, manifest["class_names"])
    print(table(rows))
    print(summary(rows))
    write_rows(out, rows)
    print(f"rows written to {out} ({FORMATS[out.suffix.lower()]})")
