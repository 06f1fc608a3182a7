"""Train a character-level RNN on a text (or one per language) and save it: characters are the tokens.

The model is the image models' own (a recurrent network with a softmax at every step, the previous
token one-hot at its input), trained on windows of --seq_length characters of the text's first 90%
and validated on its last 10%, as nanoGPT's shakespeare_char is; losses are in nats per character
(bits per character beside them). One shared vocabulary per folder, saved in its manifest.json.
Examples:
  python train_text.py --data nietzsche                    (-> trained/nietzsche)
  python train_text.py --data tinyshakespeare --recipe shakespeare-3min
  python train_text.py --all_classes --recipe languages   (one model per language; first python data/make_messages.py)
  python train_text.py --data my_notes.txt --epochs 2 --models_dir trained/my_notes
Then:  python generate.py --models_dir trained/nietzsche --prime "SUPPOSING that Truth is a woman"
       python classification.py --models_dir trained/languages --text "Wie spät ist es?"
"""

import config
from rnn_draw.library import UserError
from rnn_draw.commands import cli

def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--class_name", metavar="NAME", help="train the model of this class only (e.g. de)")
    which.add_argument("--all_classes", type=cli.str2bool, nargs="?", const=True, default=False, metavar="BOOL",
                       help="train a model for every class (language) of the data")
    parser.add_argument("--seq_length", type=cli.positive(int, 100_000), default=config.SEQ_LENGTH,
                        help="characters per training window, 1-100000 (default: %(default)s)")
    cli.add_training_flags(parser, {
        "epochs": config.TEXT_EPOCHS, "batch_size": config.TEXT_BATCH_SIZE, "data": config.TEXT_DATA,
        "data_help": cli.TEXT_DATA_HELP, "models_dir": config.TEXT_MODELS_DIR, "units": config.TEXT_UNITS,
        "learning_rate": config.TEXT_LEARNING_RATE, "early_stopping": config.TEXT_EARLY_STOPPING,
    })
    args = cli.parse_with_recipe(parser, "text")
    if args.init_from:
        parser.error("--init_from is for image models; start a text model from scratch or --resume it")
    return args


def main():
    args = parse_args()
    from rnn_draw.library import text

    corpus = text.load_corpus(args.data)
    if args.class_name is not None:
        classes = [cli.class_label(args.class_name, corpus.class_names)]
    elif args.all_classes or len(corpus.class_names) == 1:
        classes = range(len(corpus.class_names))
    else:
        raise UserError(f"{args.data} holds {len(corpus.class_names)} classes ({', '.join(corpus.class_names)}): "
                            "give --all_classes or --class_name NAME")
    from rnn_draw.commands import training  # after the flags and the data are checked: importing Keras takes seconds

    training.train_text_from_flags(args, corpus, classes)


if __name__ == "__main__":
    cli.run_cli(main)
