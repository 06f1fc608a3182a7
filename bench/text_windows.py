"""A text model's validation loss (nats per character) on windows of several lengths, each read from
a fresh state: the first characters of a window are guessed without context, so the figure depends on
the window (nanoGPT averages over blocks of 256; training here validates on config.TEXT_VALIDATION_WINDOW).

Usage: python bench/text_windows.py trained/shakespeare_30min [--lengths 128 256 512]
"""

import argparse
import json
from pathlib import Path

from common import machine

import util
from rnn_draw.library import folders, saving, text


def validation_tokens(folder):
    """The last config.TEXT_VALIDATION of the first model's text, encoded with its vocabulary: (N,) int."""
    record = json.loads(min(Path(folder).glob("model_*.json")).read_text())
    settings, corpus = record["settings"], text.load_corpus(record["data"])
    _, validation = text.split_for_validation(corpus.train[settings["class_names"][0]])
    return text.encode(validation, settings["vocabulary"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 256, 512])
    args = parser.parse_args()
    model = saving.load_model(folders.model_path(args.folder, 0))
    tokens = validation_tokens(args.folder)
    for length in args.lengths:
        windows = text.windows(tokens, length)
        nats, _ = util.log_likelihood(model, windows)
        print(f"windows of {length}: {len(windows)} windows, {-nats.sum() / windows.size:.4f} nats per character")
    print(machine())


if __name__ == "__main__":
    main()
