"""Loading image data sets, from names or from the local formats people have.

Every loader returns a `Dataset`: uint8 images, (N, H, W) for grey or (N, H, W, 3) for colour,
integer labels (N,) and the class names. Nothing here unpickles an arbitrary file or extracts an
archive to disk: archives are read member by member in memory, links and odd members skipped.
"""

import gzip
import io
import pickle
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import config
from rnn_draw.library import UserError

MNIST_CLASS_NAMES = [str(digit) for digit in range(10)]
CIFAR10_CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
DEFAULT_CLASS_NAMES = {"mnist": MNIST_CLASS_NAMES, "cifar10": CIFAR10_CLASS_NAMES}

FORMATS = (
    "a keras-layout .npz (x_train, y_train, x_test, y_test), a folder of MNIST IDX files, "
    "cifar-10-python.tar.gz or its cifar-10-batches-py/ folder, or a folder (or .tar.gz) of "
    "train/<class>/*.png|jpg and test/<class>/*.png|jpg images"
)
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


@dataclass
class Dataset:
    """Train and test splits: uint8 images (N, H, W) or (N, H, W, C), int64 labels (N,), class names."""

    name: str
    class_names: list
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def channels(self):
        return 1 if self.x_train.ndim == 3 else self.x_train.shape[-1]

    def split(self, which):
        """(images, labels) of "train" or "test"."""
        return getattr(self, f"x_{which}"), getattr(self, f"y_{which}")


def names(kinds=("mnist", "cifar10")):
    """The data sets `--data` takes by name (config.DATASETS) that hold these kinds."""
    return [name for name, entry in config.DATASETS.items() if entry["kind"] in kinds]


def local_copy(name):
    """The first of a named data set's `copies` (config.DATASETS) that exists, else None."""
    for path in config.DATASETS[name]["copies"]:
        candidate = config.REPO_DIR / Path(path).expanduser()
        if candidate.exists():
            return candidate
    return None


def load_dataset(data, kind="mnist"):
    """Load `data`: an image data set named in config.DATASETS or a path in any of FORMATS. `kind`
    ("mnist" or "cifar10", or a data set named in config.DATASETS, whose kind it is) names the classes
    when the files do not."""
    kind = config.DATASETS.get(kind, {}).get("kind", kind)
    entry = config.DATASETS.get(data)
    if entry and "binarized_from" in entry:
        return binarized(load_dataset(entry["binarized_from"], kind), data, entry["seed"])
    if entry is None:
        path = Path(data).expanduser()
        if not path.exists():
            raise UserError(f"{data}: no such file or folder (--data takes {', '.join(names())} or a path)")
        return load_path(path, kind)
    if entry["kind"] not in DEFAULT_CLASS_NAMES:
        raise UserError(f"{data} is a {entry['kind']}, not images: train_text.py takes it")
    local = local_copy(data)
    if local:
        return load_path(local, entry["kind"])
    if "download" in entry:
        return _download(data, entry)
    raise UserError(f"{data}: no copy at {', '.join(entry['copies'])}")


def load_path(path, kind):
    """Load a local file or folder in any of FORMATS, choosing the reader by what is there."""
    path = Path(path)
    if path.is_dir():
        if any((path / (name + ext)).is_file() for name in IDX_FILES.values() for ext in ("", ".gz")):
            return _checked(path, load_idx_folder(path))
        if (path / "data_batch_1").is_file():
            return _checked(path, load_cifar_batches({p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}))
        if (path / "train").is_dir():
            return _checked(path, load_image_tree(_files_under(path), kind))
        raise UserError(f"{path}: not a data folder; expected {FORMATS}")
    if path.suffix == ".npz":
        return _checked(path, load_npz(path, kind))
    if path.name.endswith((".tar.gz", ".tgz", ".tar")):
        members = _read_tar(path)
        if any(name.endswith("data_batch_1") for name in members):
            return _checked(path, load_cifar_batches({Path(n).name: data for n, data in members.items()}))
        return _checked(path, load_image_tree(members, kind))
    raise UserError(f"{path}: unknown data format; expected {FORMATS}")


def _download(name, entry):
    """keras.datasets' copy of a named data set (a download, which this project's machines cannot make)."""
    from rnn_draw.library import quiet

    with quiet.backend_import():
        import keras

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, entry["download"]).load_data()
    except Exception as error:  # any network failure: keras raises plain Exception for these
        raise UserError(
            f"{name} is not available offline and could not be downloaded ({type(error).__name__}); "
            f"pass --data PATH to a local copy: {FORMATS}"
        ) from None
    kind = entry["kind"]
    return _checked(name, Dataset(kind, DEFAULT_CLASS_NAMES[kind], x_train, y_train.ravel(), x_test, y_test.ravel()))


def binarized(dataset, name, seed):
    """`dataset` binarised stochastically, Salakhutdinov & Murray's way (the NADE, MADE and PixelRNN
    tables' MNIST): each pixel drawn once from Bernoulli(intensity / 255) with a generator seeded by
    `seed`, training images first, then the test images. Pixels are 0 or 255; named `name`."""
    random = np.random.default_rng(seed)

    def drawn(images):
        return np.where(random.random(images.shape, dtype=np.float32) < images / np.float32(255), 255, 0).astype(np.uint8)

    return Dataset(name, dataset.class_names, drawn(dataset.x_train), dataset.y_train, drawn(dataset.x_test), dataset.y_test)


# --- keras-layout .npz ---------------------------------------------------------------------------


def load_npz(path, kind):
    """A keras-layout `.npz`; an optional `class_names` array of strings names the labels."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise UserError(f"{path}: not a data set .npz (missing {', '.join(missing)})")
            arrays = {key: archive[key] for key in NPZ_KEYS}
            names = [str(name) for name in archive["class_names"]] if "class_names" in archive.files else None
    except UserError:
        raise
    except Exception as error:  # zip, pickle-refusal and truncation errors all land here
        raise UserError(f"{path}: cannot read as .npz ({type(error).__name__}: {error})") from None
    return Dataset(kind, names or DEFAULT_CLASS_NAMES[kind], **arrays)


# --- MNIST IDX files -----------------------------------------------------------------------------


def load_idx_folder(folder):
    """The four LeCun IDX files (optionally gzipped) in `folder`."""
    arrays = {}
    for key, name in IDX_FILES.items():
        path = next((folder / (name + ext) for ext in (".gz", "") if (folder / (name + ext)).is_file()), None)
        if path is None:
            raise UserError(f"{folder}: no {name}[.gz] (expected a folder of MNIST IDX files)")
        arrays[key] = read_idx(path)
    return Dataset("mnist", MNIST_CLASS_NAMES, **arrays)


def read_idx(path):
    """Parse one IDX file: a big-endian header (0, 0, type 0x08, dims, sizes) then uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            raw = file.read()
        zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3):
            raise ValueError("bad magic number")
        shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)
    except (OSError, EOFError, ValueError, struct.error) as error:
        raise UserError(f"{path}: not a uint8 IDX file ({error})") from None


# --- CIFAR-10 python batches ---------------------------------------------------------------------


class _CifarBatchUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR-10 batch format only: dicts, lists, bytes and numpy arrays, nothing callable."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store bytes
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of a CIFAR batch")
        return super().find_class(module.replace("numpy.core", "numpy._core"), name)


def read_cifar_batch(name, raw):
    """One CIFAR-10 batch file's bytes -> (images (N, 32, 32, 3) uint8, labels (N,))."""
    try:
        batch = _CifarBatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
        data, labels = np.asarray(batch[b"data"], dtype=np.uint8), np.asarray(batch[b"labels"])
        return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels
    except Exception as error:
        raise UserError(f"{name}: not a CIFAR-10 python batch ({type(error).__name__}: {error})") from None


def load_cifar_batches(files):
    """CIFAR-10 from its python batches, given {file name: bytes} (data_batch_1..5, test_batch)."""
    needed = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [name for name in needed if name not in files]
    if missing:
        raise UserError(f"CIFAR-10 batches incomplete: missing {', '.join(missing)}")
    train = [read_cifar_batch(name, files[name]) for name in needed[:5]]
    x_test, y_test = read_cifar_batch("test_batch", files["test_batch"])
    x_train, y_train = (np.concatenate(parts) for parts in zip(*train))
    return Dataset("cifar10", CIFAR10_CLASS_NAMES, x_train, y_train, x_test, y_test)


# --- class-folder image trees, plain or in a .tar.gz ---------------------------------------------


def _files_under(folder):
    """{relative path: bytes} of the image files below `folder` (symbolic links skipped)."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink() and path.suffix.lower() in IMAGE_SUFFIXES
    }


def _read_tar(path):
    """{member name: bytes} of the regular image files in a tar archive, read in memory.

    Nothing is extracted, so absolute names, `..` and links cannot write anywhere; such members
    are refused outright all the same.
    """
    members = {}
    try:
        with tarfile.open(path) as archive:
            for member in archive:
                name = member.name
                if name.startswith("/") or ".." in Path(name).parts:
                    raise UserError(f"{path}: refusing archive member {name!r} (absolute or '..' path)")
                if member.isfile() and (name.lower().endswith(IMAGE_SUFFIXES) or "_batch" in name):
                    members[name] = archive.extractfile(member).read()
    except UserError:
        raise
    except (tarfile.TarError, OSError, EOFError) as error:
        raise UserError(f"{path}: cannot read as a tar archive ({type(error).__name__}: {error})") from None
    return members


def load_image_tree(files, kind):
    """A data set from {"[prefix/]train|test/<class>/<image>": bytes}. Class names are the folder
    names, sorted (CIFAR-10's keras order when they are its ten classes). Images are grey if the
    first one is, else RGB; any image of another size is resized to the first one's."""
    by_split = {"train": [], "test": []}
    for name, raw in sorted(files.items()):
        parts = Path(name).parts
        if len(parts) >= 3 and parts[-3] in by_split:
            by_split[parts[-3]].append((parts[-2], name, raw))
    if not by_split["train"] or not by_split["test"]:
        raise UserError(f"no images found under train/<class>/ and test/<class>/; expected {FORMATS}")
    found = sorted({label for entries in by_split.values() for label, _, _ in entries})
    class_names = CIFAR10_CLASS_NAMES if sorted(CIFAR10_CLASS_NAMES) == found else found
    index = {name: i for i, name in enumerate(class_names)}
    first = open_image(by_split["train"][0][2], by_split["train"][0][1])
    mode = "L" if first.mode in ("L", "1", "I;16") else "RGB"
    arrays = {}
    for split, entries in by_split.items():
        pictures = [open_image(raw, name).convert(mode).resize(first.size) for _, name, raw in entries]
        arrays[f"x_{split}"] = np.stack([np.asarray(picture) for picture in pictures])
        arrays[f"y_{split}"] = np.array([index[label] for label, _, _ in entries])
    name = kind if class_names == DEFAULT_CLASS_NAMES[kind] else "custom"
    return Dataset(name, class_names, **arrays)


# --- checks --------------------------------------------------------------------------------------


def _checked(source, dataset):
    """`dataset` with int64 labels, after checking that its arrays are images and labels that match."""
    for split in ("train", "test"):
        images, labels = dataset.split(split)
        shape_ok = images.ndim in (3, 4) and (images.ndim == 3 or images.shape[-1] in (1, 3))
        if not shape_ok or labels.ndim != 1 or len(images) != len(labels) or len(images) == 0:
            raise UserError(f"{source}: x_{split} {images.shape} and y_{split} {labels.shape} are not N images and N labels")
        if images.dtype != np.uint8:
            raise UserError(f"{source}: x_{split} is {images.dtype}; expected uint8 pixels")
        if labels.min() < 0 or labels.max() >= len(dataset.class_names):
            raise UserError(f"{source}: y_{split} has labels outside 0..{len(dataset.class_names) - 1}")
        setattr(dataset, f"y_{split}", labels.astype(np.int64))
        if images.ndim == 4 and images.shape[-1] == 1:
            setattr(dataset, f"x_{split}", images[..., 0])
    return dataset


def open_image(source, name):
    """A decoded PIL image from a path or bytes, with a one-line error naming `name` if it is not one.

    Any decoding failure is the file's fault, whatever the decoder raised; so is a decompression
    bomb (more than Pillow's MAX_IMAGE_PIXELS, about 89 million pixels), refused before decoding.
    """
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
            image.load()
        return image
    except MemoryError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UserError(f"{name}: refusing an image this large ({error})") from None
    except Exception as error:  # noqa: BLE001 (Pillow's decoders raise many kinds for broken files)
        raise UserError(f"{name}: unreadable image ({type(error).__name__}: {error})") from None


def read_picture(path, channels):
    """One picture file -> uint8 (H, W) for channels=1 or (H, W, 3)."""
    return np.asarray(open_image(path, path).convert("L" if channels == 1 else "RGB"))


def to_grayscale(images):
    """RGB images (N, H, W, 3) uint8 -> grey (N, H, W) uint8, by ITU-R 601 luma."""
    if images.ndim == 3:
        return images
    return np.rint(images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).astype(np.uint8)


def first_images(images, labels, num_images=None):
    """The first `num_images` images and labels (all when None), in the data set's own order."""
    if num_images is not None:
        images, labels = images[:num_images], labels[:num_images]
    return images, labels


def first_of_each_class(images, labels, classes, num_images=None):
    """The first `num_images` images of each class in `classes` (all when None), as the tutorial
    takes them (`x_train[y_train == digit][:num_images]`), kept in the data set's order.

    Returns (images, labels, short): `short` maps each class with fewer images to how many it has.
    """
    available = np.bincount(labels, minlength=max(classes, default=0) + 1)
    short = {label: int(available[label]) for label in classes if num_images is not None and available[label] < num_images}
    chosen = first_rows_of_each_class(labels, {label: num_images for label in classes})
    return images[chosen], labels[chosen], short


def short_classes_note(short, class_names, num_images):
    """The note for classes with fewer than `num_images` images (`short` from first_of_each_class):
    one line, however many classes (the tutorial's --num_images=60000 means "all of them")."""
    if len(short) == 1:
        [(label, count)] = short.items()
        return (f"note: class {class_names[label]} has {count} training images, fewer than --num_images {num_images}; "
                "using all of them")
    low, high = min(short.values()), max(short.values())
    counts = f"{low} to {high}" if low < high else f"{low} each"
    names = ", ".join(class_names[label] for label in short)
    return f"note: --num_images {num_images} is more than classes {names} have; each uses all of its images ({counts})"


def first_rows_of_each_class(labels, counts):
    """Mask (N,) of the first counts[k] rows of each class k (all of them when None), in the data's order."""
    chosen = np.zeros(len(labels), dtype=bool)
    for label, count in counts.items():
        chosen[np.flatnonzero(labels == label)[:count]] = True
    return chosen


def num_held_out(count, fraction):
    """How many of `count` training images the fraction `fraction` holds out for validation (none of one)."""
    return int(count * fraction) if count > 1 else 0


def held_out_rows(count, fraction, seed):
    """(kept, held out): row indices of `count` training images, whose seeded shuffle's first
    `num_held_out(count, fraction)` are held out for validation."""
    order = np.random.default_rng(seed).permutation(count)
    num_val = num_held_out(count, fraction)
    return order[num_val:], order[:num_val]


def held_out_images(images, labels, runs):
    """The training images that a folder's training runs held out for validation, in the data's order.

    `runs` are the models' records: each trained on the first train_counts[k] images of each class k
    it counts (all of them for a conditional model, one class for a per-class one) and held out
    `held_out_rows(...)` of them with its `seed` and `validation_split`. Returns (images, labels).
    """
    rows = []
    for run in runs:
        chosen = np.flatnonzero(first_rows_of_each_class(labels, {int(k): n for k, n in run["train_counts"].items()}))
        rows.append(chosen[held_out_rows(len(chosen), run["validation_split"], run["seed"])[1]])
    rows = np.sort(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.intp)
    return images[rows], labels[rows]
