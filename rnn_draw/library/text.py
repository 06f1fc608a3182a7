"""Text as tokens: corpora by name or path, one vocabulary of characters, strings to token ids and back.

A corpus is one text (`nietzsche`, `tinyshakespeare`, any UTF-8 file: one class, "text") or one text
per class (`fortunes-7lang`, or a folder or .tar.gz of `<class>.txt` files, optionally under
`train/` and `test/`; fortune files hold pieces separated by lines of `%`). Token 0 is UNKNOWN: a
character the vocabulary does not hold reads as it in data, and is refused where a user types text.
Nothing here imports Keras.
"""

import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import config
from rnn_draw.library import UserError, datasets

UNKNOWN = "\ufffd"  # token 0 of every vocabulary: a character training never saw
LINE_START = "\n"  # what a string to classify is read after (line_tokens)
MAX_TEXT_BYTES = 512 * 2**20


@dataclass
class Corpus:
    """Training text per class, and the test pieces per class (empty when the corpus has no test split)."""

    name: str
    class_names: list
    train: dict  # class name -> str
    test: dict = field(default_factory=dict)  # class name -> [str, ...]


def corpus_path(data):
    """The file or folder `--data` names: a text of config.DATASETS (its first copy there is), or a path."""
    if data in config.DATASETS:
        if config.DATASETS[data]["kind"] != "text":
            raise UserError(f"{data} is a data set of images: train_mnist.py or train_cifar.py takes it")
        path = datasets.local_copy(data)
        if path is None:
            made_by = config.DATASETS[data].get("made_by")
            raise UserError(f"{data}: no local copy at {', '.join(config.DATASETS[data]['copies'])}"
                            + (f"; make it with {made_by}" if made_by else ""))
        return path.resolve()
    path = Path(data).expanduser()
    if not path.exists():
        raise UserError(f"{data}: no such file or folder (--data takes {', '.join(datasets.names(['text']))} or a path)")
    return path


def decoded(raw, source):
    """UTF-8 text from bytes, or a UserError for a binary or empty file."""
    if b"\0" in raw[:65536]:
        raise UserError(f"{source}: a binary file, not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{source}: not UTF-8 text (byte {error.start})") from None
    if not text.strip():
        raise UserError(f"{source}: empty, no text to learn from")
    return text


def pieces(text):
    """A fortune file's pieces (separated by lines holding only %), each stripped; one piece otherwise."""
    parts = text.replace("\r\n", "\n").split("\n%\n")
    return [part.strip("\n%") for part in parts if part.strip("\n%").strip()]


def load_corpus(data):
    """The Corpus that `--data` names (see the module docstring)."""
    path = corpus_path(data)
    if path.is_file() and not path.name.endswith((".tar.gz", ".tgz", ".tar")):
        if path.stat().st_size > MAX_TEXT_BYTES:
            raise UserError(f"{path}: larger than {MAX_TEXT_BYTES >> 20} MB; cut it first")
        return Corpus(data if data in config.DATASETS else path.stem, ["text"], {"text": decoded(path.read_bytes(), path)})
    files = read_archive(path) if path.is_file() else {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*.txt")}
    train = {Path(name).stem: decoded(raw, f"{path}/{name}") for name, raw in files.items() if not name.startswith("test/")}
    test = {Path(name).stem: pieces(decoded(raw, f"{path}/{name}")) for name, raw in files.items() if name.startswith("test/")}
    if not train:
        raise UserError(f"{path}: no <class>.txt files (or train/<class>.txt) in it")
    names = sorted(train)
    return Corpus(data if data in config.DATASETS else path.name, names, train, {k: v for k, v in test.items() if k in train})


def read_archive(path):
    """{member name: bytes} of the .txt files in a tar archive, read in memory (links and others skipped)."""
    try:
        with tarfile.open(path) as archive:
            return {member.name.removeprefix("./"): archive.extractfile(member).read()
                    for member in archive.getmembers() if member.isfile() and member.name.endswith(".txt")}
    except (tarfile.TarError, OSError, EOFError) as error:
        raise UserError(f"{path}: not a readable tar archive ({type(error).__name__})") from None


def vocabulary(texts):
    """The characters of `texts`, sorted, after UNKNOWN (token 0): one vocabulary every model shares."""
    seen = set()
    for text in texts:
        seen.update(text)
    seen.discard(UNKNOWN)
    return [UNKNOWN, *sorted(seen)]


def encoder(vocab):
    """A function: a string -> token ids (len,) int32, characters outside `vocab` becoming UNKNOWN (0);
    the vocabulary's index is built once, for many strings."""
    index = {char: number for number, char in enumerate(vocab)}
    return lambda text: np.fromiter((index.get(char, 0) for char in text), dtype=np.int32, count=len(text))


def encode(text, vocab):
    """A string -> token ids (len,) int32; characters outside `vocab` become UNKNOWN (0)."""
    return encoder(vocab)(text)


def refuse_unseen(text, vocab, what):
    """A UserError naming the characters of `text` (a user's, given as `what`) that the models never saw."""
    unseen = sorted(set(text) - set(vocab[1:]))
    if unseen:
        shown = ", ".join(repr(char) for char in unseen[:10])
        raise UserError(f"{what}: {len(unseen)} character(s) the models never saw in training: {shown}")


def given(tokens):
    """Token ids (n,) as context: read by the models but not scored (-2 - id; -1 is padding)."""
    return -2 - np.asarray(tokens, np.int32)


def read_ids(tokens):
    """What the models read at each step of tokens holding given context: its ids again (padding stays -1)."""
    tokens = np.asarray(tokens)
    return np.where(tokens <= -2, -2 - tokens, tokens)


def line_tokens(strings, vocab):
    """Strings -> token ids [(1 + len,), ...]: the line break before each as given context, then its
    characters. Scored so, a string is p(string | the start of a line): training read every piece and
    line after a line break, so a capital or a short word at the start is read as it starts a line, not
    as it would stand mid-sentence (at 10 characters, about a point on the fortunes test split:
    docs/language_id.md). A vocabulary without line breaks gives no context."""
    to_ids = encoder(vocab)
    context = given(to_ids(LINE_START)) if LINE_START in vocab else np.zeros(0, np.int32)
    return [np.concatenate([context, to_ids(string)]) for string in strings]


def encode_typed(text, vocab, what):
    """Text a user typed -> token ids, refusing characters the models never saw (one line naming them)."""
    refuse_unseen(text, vocab, what)
    return encode(text, vocab)


def decode(tokens, vocab):
    """Token ids -> a string."""
    return "".join(vocab[token] for token in np.asarray(tokens).ravel())


def windows(tokens, length):
    """Token ids (n,) -> consecutive windows (n // length, length): training sequences."""
    count = len(tokens) // length
    return np.asarray(tokens[: count * length]).reshape(count, length)


def split_for_validation(text, fraction=config.TEXT_VALIDATION):
    """(training text, validation text): the last `fraction` of the text validates, as nanoGPT's split does."""
    cut = int(len(text) * (1 - fraction))
    return text[:cut], text[cut:]


PAD_TO = 64  # padded texts are scored cut to a multiple of this many steps: few shapes, little padding


def steps_to_score(longest, width, available):
    """Steps of a batch of padded sequences to score: enough for its `longest` (in tokens), rounded up
    to a multiple of PAD_TO steps (a few shapes to compile), at most the `available` steps."""
    return min(available, -(-longest // (PAD_TO * width)) * PAD_TO)


def padded(sequences, length=None):
    """Token id sequences of any lengths -> (N, length) int32 with -1 after each sequence's end (given
    context, -2 and below, stays as it is)."""
    length = length or max(len(sequence) for sequence in sequences)
    out = np.full((len(sequences), length), -1, np.int32)
    for row, sequence in enumerate(sequences):
        out[row, : len(sequence)] = sequence[:length]
    return out


def read_prime(text, path):
    """--prime or --prime_file: the text generation starts from."""
    if path is None:
        return text
    try:
        return decoded(Path(path).read_bytes(), path)
    except OSError as error:
        raise UserError(f"{path}: cannot read it ({error.strerror})") from None

