"""Sample new images from trained class models, pixel by pixel, and write them as PNG grids.

Example:  python generate.py --digit 7 --grid_size 5   ->  generated/samples_of_7.png
"""

from pathlib import Path

import config
import util


def parse_args():
    parser = util.ArgumentParser(description=__doc__, formatter_class=util.argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--digit", type=int, metavar="D", help="the class to sample (a digit 0-9 for MNIST)")
    which.add_argument(
        "--all_digits", type=util.str2bool, nargs="?", const=True, default=False, metavar="BOOL",
        help="one grid for every trained class",
    )
    parser.add_argument("--grid_size", type=util.positive(int), default=config.GRID_SIZE, help="the grid is N x N images (default: %(default)s)")
    parser.add_argument("--output_size", type=util.positive(int), default=config.OUTPUT_SIZE, help="pixels per image in the PNG (default: %(default)s)")
    parser.add_argument("--temperature", type=util.positive(float), default=config.TEMPERATURE, help="below 1 sharper, above 1 wilder (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="random seed for reproducible grids (default: fresh)")
    parser.add_argument("--models_dir", default=config.MNIST_MODELS_DIR, help="trained models (default: %(default)s)")
    parser.add_argument("--out", default=None, metavar="FILE", help=f"PNG to write (default: {config.GENERATED_DIR}/samples_of_D.png); only with --digit")
    parser.add_argument("--show", action="store_true", help="also open the grid in an image viewer")
    args = parser.parse_args()
    if args.digit is None and not args.all_digits:
        parser.error("nothing to sample: give --digit D or --all_digits")
    if args.out and args.all_digits:
        parser.error("--out names one file; with --all_digits grids go to " + config.GENERATED_DIR)
    return args


def main():
    args = parse_args()
    manifest, models = util.load_models(args.models_dir)
    labels = sorted(models) if args.all_digits else [args.digit]
    for label in labels:
        if label not in models:
            raise util.UserError(f"no model for class {label} in {args.models_dir} (trained: {sorted(models)})")
        images = util.sample(
            models[label], args.grid_size**2, manifest["target_size"], args.temperature, args.seed
        )
        out = Path(args.out or Path(config.GENERATED_DIR) / f"samples_of_{label}.png")
        util.save_grid(images, out, manifest["max_intensity"], args.output_size)
        print(f"wrote {out}")
        if args.show:
            from PIL import Image

            Image.open(out).show()


if __name__ == "__main__":
    util.run_cli(main)
