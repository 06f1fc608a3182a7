"""Make the language data of issue #33 from translated message catalogs inside Python packages (offline
but for the package registry): a second training domain for the language models, and an out-of-domain
test set they never train on.

- data/fortunes-messages-7lang/: the fortunes of fortunes-7lang (train and test splits unchanged) with,
  in each language's training text, the interface messages of Wagtail and Sphinx (their .mo catalogs;
  English: the catalogs' msgids) interleaved as pieces, REPEATS times each: about a tenth of the text.
- data/messages/known/<lang>.txt and data/messages/unknown/<lang>.txt: Django's messages, one per line
  (whitespace runs collapsed), in the seven languages and in UNKNOWN others; a message also found in the
  training catalogs, or left untranslated (its msgstr equal to its msgid), is left out.
The operating system's own catalogs (/usr/share/locale) are not read: they stay an independent check.

Usage: python data/make_messages.py [--wheels DIR]   (DIR: where the three wheels are, or are downloaded
       to with `pip download`; default: data/wheels)
"""

import argparse
import gettext
import io
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
REPEATS = 3
CATALOG = re.compile(r"locale/([A-Za-z]+)/LC_MESSAGES/[^/]+\.mo$")  # base locales only: es, not es_AR


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


def messages(wheel_path, languages):
    """{language: [message, ...]} of a wheel's catalogs, in catalog order, deduplicated; English from the msgids."""
    found = {language: {} for language in languages}
    with zipfile.ZipFile(wheel_path) as archive:
        for name in sorted(archive.namelist()):
            match = CATALOG.search(name)
            if not match:
                continue
            catalog = gettext.GNUTranslations(io.BytesIO(archive.read(name)))._catalog
            for key, translated in catalog.items():
                source = key if isinstance(key, str) else key[0]
                if not source:
                    continue  # the catalog's header
                if "en" in found:
                    found["en"].setdefault(collapsed(source), None)
                language = match.group(1).lower()
                if language in found and language != "en" and collapsed(translated) != collapsed(source):
                    found[language].setdefault(collapsed(translated), None)
    return {language: [m for m in kept if any(c.isalpha() for c in m)] for language, kept in found.items()}


def interleaved(fortunes, extra, repeats):
    """Fortune pieces with `extra` pieces (repeated) spread evenly among them: validation (the text's last
    tenth) then holds both domains."""
    extra = extra * repeats
    step = max(1, len(fortunes) // max(1, len(extra)))
    out, taken = [], 0
    for index, fortune in enumerate(fortunes):
        out.append(fortune)
        if index % step == step - 1 and taken < len(extra):
            out.append(extra[taken])
            taken += 1
    return out + extra[taken:]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheels", default=str(HERE / "wheels"))
    args = parser.parse_args()
    folder = Path(args.wheels)
    folder.mkdir(parents=True, exist_ok=True)
    training = {language: [] for language in KNOWN}
    for requirement in TRAINING_WHEELS:
        for language, found in messages(wheel(requirement, folder), KNOWN).items():
            training[language] += found
    seen = {message for found in training.values() for message in found}
    django = messages(wheel(TEST_WHEELS[0], folder), KNOWN + UNKNOWN)

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
    for group, languages in (("known", KNOWN), ("unknown", UNKNOWN)):
        (HERE / "messages" / group).mkdir(parents=True, exist_ok=True)
        for language in languages:
            kept = [message for message in django[language] if message not in seen]
            (HERE / "messages" / group / f"{language}.txt").write_text("\n".join(kept) + "\n", encoding="utf-8")
            print(f"django {group} {language}: {len(kept)} messages")


if __name__ == "__main__":
    main()
