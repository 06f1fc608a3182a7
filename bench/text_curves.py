"""Plot: validation loss (nats per character) against training minutes, from the records of finished
character models (their history keeps `val_loss` and the cumulative training `seconds` per epoch).

Usage: python bench/text_curves.py trained/shakespeare_3min trained/shakespeare_30min \
           [--out generated/readme/shakespeare_curves.png] [--anchor 1.4697]
"""

import argparse
import json
from pathlib import Path

from common import REPO


def curve(folder):
    """(minutes, validation losses, label) of the first finished model in `folder`."""
    record = json.loads(sorted(Path(folder).glob("model_*.json"))[0].read_text())
    history = record["history"]
    minutes = [seconds / 60 for seconds in history["seconds"]]
    return minutes, history["val_loss"], f"{Path(folder).name} ({record.get('command', '')})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--out", default=str(REPO / "generated/readme/shakespeare_curves.png"))
    parser.add_argument("--anchor", type=float, default=1.4697, help="a reference loss drawn as a line (nanoGPT's)")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    for folder in args.folders:
        minutes, losses, label = curve(folder)
        axes.plot(minutes, losses, marker="o", markersize=3, label=label)
        print(f"{folder}: best {min(losses):.4f} nats/char after {minutes[losses.index(min(losses))]:.1f} min; "
              f"last {losses[-1]:.4f} at {minutes[-1]:.1f} min")
    axes.axhline(args.anchor, color="grey", linestyle="--", label=f"nanoGPT shakespeare_char on an A100: {args.anchor}")
    axes.set_xlabel("training minutes (2 CPU cores)")
    axes.set_ylabel("validation loss, nats per character")
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
