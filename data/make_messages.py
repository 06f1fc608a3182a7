"""Make the language data of issue #33 from translated message catalogs inside Python packages (offline
but for the package registry): a second training domain for the language models, and an out-of-domain
test set they never train on.

- data/fortunes-messages-7lang/: the fortunes of fortunes-7lang (train and test splits unchanged) with,
  in each language's training text, the interface messages of Wagtail and Sphinx (their .mo catalogs;
  English: the catalogs' msgids) interleaved as pieces, REPEATS times each: about a sixth to a quarter of the text.
- data/messages/known/<lang>.txt and data/messages/unknown/<lang>.txt: Django's messages, one per line
  (whitespace runs collapsed), in the seven languages and in UNKNOWN others; a message also found in the
  training catalogs, or left untranslated (its msgstr equal to its msgid), is left out.
The operating system's own catalogs (/usr/share/locale) are read only with --system, which writes
data/messages-system/known|unknown/ the same way (messages of the training catalogs left out): a check
run once on the final models, never used to train or tune.

Usage: python data/make_messages.py [--wheels DIR] [--system]   (DIR: where the three wheels are, or are
       downloaded to with `pip download`; default: data/wheels)
"""

import argparse
import gettext
import io
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from rnn_draw.library import text  # noqa: E402

KNOWN = ("cs", "de", "en", "es", "it", "pl", "ru")
UNKNOWN = ("fr", "nl", "pt", "sv", "fi", "hu", "sk", "hr", "uk", "bg")  # fixed before any measurement
TRAINING_WHEELS = ("wagtail==8.0.1", "sphinx==9.0.4")
TEST_WHEELS = ("django==5.2.19",)
REPEATS = 8
CATALOG = re.compile(r"locale/([A-Za-z]+)/LC_MESSAGES/[^/]+\.mo$")  # base locales only: es, not es_AR
SYSTEM_LOCALE = "/usr/share/locale"
SYSTEM_SAMPLE = 500  # messages per language of the check


def wheel(requirement, folder):
    """The wheel file of `requirement` in `folder`, downloaded there first if it is missing."""
    name, version = requirement.split("==")
    found = sorted(folder.glob(f"{name}-{version}-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), requirement], check=True)
        found = sorted(folder.glob(f"{name}-{version}-*.whl"))
    return found[0]


def collapsed(string):
    return " ".join(string.split())


def wheel_catalogs(wheel_path):
    """(locale, .mo bytes) of each catalog inside a wheel, in name order."""
    with zipfile.ZipFile(wheel_path) as archive:
        for name in sorted(archive.namelist()):
            match = CATALOG.search(name)
            if match:
                yield match.group(1), archive.read(name)


def system_catalogs(root=SYSTEM_LOCALE):
    """(locale, .mo bytes) of each catalog of the operating system, in name order."""
    for path in sorted(Path(root).glob("*/LC_MESSAGES/*.mo")):
        match = CATALOG.search(str(path))
        if match:
            yield match.group(1), path.read_bytes()


def messages(catalogs, languages):
    """{language: [message, ...]} of (locale, .mo bytes) catalogs, in catalog order, deduplicated; English
    from the msgids; a translation equal to its msgid (left untranslated) left out."""
    found = {language: {} for language in languages}
    for locale, raw in catalogs:
        try:
            catalog = gettext.GNUTranslations(io.BytesIO(raw))._catalog
        except (OSError, UnicodeDecodeError, IndexError, ValueError):
            continue  # a catalog gettext cannot parse (another encoding, a broken plural header): left out
        language = locale.lower()
        for key, translated in catalog.items():
            source = key if isinstance(key, str) else key[0]
            if not source:
                continue  # the catalog's header
            if "en" in found:
                found["en"].setdefault(collapsed(source), None)
            if language in found and language != "en" and collapsed(translated) != collapsed(source):
                found[language].setdefault(collapsed(translated), None)
    return {language: [m for m in kept if any(c.isalpha() for c in m)] for language, kept in found.items()}


def write_lines(folder, found, seen, sample=None):
    """data/<folder>/known|unknown/<language>.txt: one message per line, those in the training catalogs left
    out; `sample` of them per language, drawn with a fixed seed, when there are more."""
    for group, languages in (("known", KNOWN), ("unknown", UNKNOWN)):
        (HERE / folder / group).mkdir(parents=True, exist_ok=True)
        for language in languages:
            kept = [message for message in found[language] if message not in seen]
            if sample and len(kept) > sample:
                kept = random.Random(0).sample(kept, sample)
            (HERE / folder / group / f"{language}.txt").write_text("\n".join(kept) + "\n", encoding="utf-8")
            print(f"{folder} {group} {language}: {len(kept)} messages")


def interleaved(fortunes, extra, repeats):
    """Fortune pieces with `extra` pieces (each `repeats` times) spread evenly among them, in order: the
    text's last tenth, which validates, then holds both domains in the same proportions as the rest."""
    extra = extra * repeats
    keys = [(index + 0.5) / len(fortunes) for index in range(len(fortunes))] + \
           [(index + 0.5) / max(1, len(extra)) for index in range(len(extra))]
    pieces = fortunes + extra
    return [pieces[index] for index in sorted(range(len(pieces)), key=keys.__getitem__)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheels", default=str(HERE / "wheels"))
    parser.add_argument("--system", action="store_true",
                        help=f"instead, write data/messages-system/ from the operating system's catalogs ({SYSTEM_LOCALE}): a check only")
    args = parser.parse_args()
    folder = Path(args.wheels)
    folder.mkdir(parents=True, exist_ok=True)
    training = {language: [] for language in KNOWN}
    for requirement in TRAINING_WHEELS:
        for language, found in messages(wheel_catalogs(wheel(requirement, folder)), KNOWN).items():
            training[language] += found
    seen = {message for found in training.values() for message in found}
    if args.system:  # a check only: never trained or tuned on
        write_lines("messages-system", messages(system_catalogs(), KNOWN + UNKNOWN), seen, SYSTEM_SAMPLE)
        return

    fortunes = text.load_corpus("fortunes-7lang")
    out = HERE / "fortunes-messages-7lang"
    for language in KNOWN:
        pieces = interleaved(text.pieces(fortunes.train[language]), list(dict.fromkeys(training[language])), REPEATS)
        (out / "train").mkdir(parents=True, exist_ok=True)
        (out / "test").mkdir(parents=True, exist_ok=True)
        (out / "train" / f"{language}.txt").write_text("\n%\n".join(pieces) + "\n", encoding="utf-8")
        (out / "test" / f"{language}.txt").write_text("\n%\n".join(fortunes.test[language]) + "\n", encoding="utf-8")
        added = sum(map(len, training[language])) * REPEATS
        print(f"{language}: {len(training[language])} training messages ({added:,} characters with repeats) "
              f"beside {len(fortunes.train[language]):,} characters of fortunes")
    write_lines("messages", messages(wheel_catalogs(wheel(TEST_WHEELS[0], folder)), KNOWN + UNKNOWN), seen)


if __name__ == "__main__":
    main()
