"""The house rules: layers that import only downward, every default in config.py, recipes that name
their own data set and folder, shipped records that hold only what code writes, and docstring
examples that never overwrite a shipped model."""

import ast
import importlib
import json
import subprocess
import sys

import pytest
from conftest import REPO, TINY_TRAINING, assert_one_line_error, run_script

import config
from rnn_draw.commands import cli

SCRIPTS = ("train_mnist.py", "train_cifar.py", "train_text.py", "train_gan.py", "generate.py", "classification.py")
TRAINING = {"mnist": ("train_mnist.py", "--all_digits"), "cifar10": ("train_cifar.py", "--all_classes"),
            "text": ("train_text.py", "--all_classes"), "gan": ("train_gan.py", "--conditional")}
LIBRARY = sorted(path for path in (REPO / "rnn_draw" / "library").glob("*.py"))
SHIPPED = ("trained/mnist_models", "trained/conditional", "trained/unconditional", "trained/nietzsche", "trained/languages",
           "trained/gan_mnist_conditional")


def imported_modules(path):
    """Every module `path` imports, at any depth of its code (imports inside functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", LIBRARY, ids=[path.name for path in LIBRARY])
def test_the_library_imports_neither_util_nor_the_orchestration_above_it(path):
    above = {name for name in imported_modules(path) if name == "util" or name.startswith("rnn_draw.commands")}
    assert not above, f"{path.name} imports {above}"


def test_nothing_imports_a_script():
    """The scripts are the top layer: what they do lives in rnn_draw/commands, which anything may reuse."""
    scripts = {script.removesuffix(".py") for script in SCRIPTS}
    for path in [REPO / "util.py", *REPO.glob("rnn_draw/**/*.py"), *REPO.glob("bench/*.py"), *REPO.glob("tests/*.py")]:
        assert not imported_modules(path) & scripts, path


def test_importing_util_loads_nothing_above_it():
    code = "import sys, util; print([m for m in sys.modules if m.startswith('rnn_draw.commands') or m in %r])" % (
        [script.removesuffix(".py") for script in SCRIPTS],)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


def test_util_re_exports_nothing():
    """Every name util defines is its own: what it imports from the library it uses, not passes on."""
    tree = ast.parse((REPO / "util.py").read_text())
    imported = {alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    source = (REPO / "util.py").read_text()
    for name in imported:
        uses = source.count(f"{name}.") + source.count(f"{name}(")
        assert uses, f"util imports {name} without using it (a re-export?)"


def argument_defaults(path):
    """(flag, default expression source) of every add_argument / add call with a default= in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("add_argument", "add"):
            for keyword in node.keywords:
                if keyword.arg == "default":
                    flag = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else "?"
                    found.append((flag, ast.unparse(keyword.value)))
    return found


@pytest.mark.parametrize("path", [*SCRIPTS, "rnn_draw/commands/cli.py"])
def test_every_flag_takes_its_default_from_config(path):
    """None and False mean "not given"; anything else must be named in config.py, not typed in place."""
    for flag, default in argument_defaults(REPO / path):
        assert default in ("None", "False") or default.startswith(("config.", "defaults[", "defaults.get(")), (flag, default)


def test_every_recipe_names_its_data_set_and_a_folder_of_its_own():
    folders = [recipe["models_dir"] for recipe in config.RECIPES.values()]
    assert len(set(folders)) == len(folders), folders
    shipped_by = {"tutorial": config.MNIST_MODELS_DIR, "conditional-cpu": config.CONDITIONAL_MODELS_DIR,
                  "unconditional-cpu": config.UNCONDITIONAL_MODELS_DIR, "nietzsche": "trained/nietzsche",
                  "languages": "trained/languages"}
    for name, recipe in config.RECIPES.items():
        assert recipe["dataset"] in TRAINING and recipe["data"], name
        if recipe["models_dir"] in SHIPPED:  # only the recipe that trained a shipped folder trains into it
            assert shipped_by.get(name) == recipe["models_dir"], name


def parsed(script, argv, monkeypatch):
    """The script's parsed flags for `argv`, without running it."""
    monkeypatch.setattr(sys, "argv", [script, *argv])
    monkeypatch.chdir(REPO)
    return importlib.import_module(script.removesuffix(".py")).parse_args()


@pytest.mark.parametrize("name", sorted(config.RECIPES))
def test_a_recipe_runs_only_in_the_script_of_its_data_set(name, monkeypatch, capsys):
    dataset = config.RECIPES[name]["dataset"]
    script, every = TRAINING[dataset]
    args = parsed(script, [every, "--recipe", name], monkeypatch)
    assert args.models_dir == config.RECIPES[name]["models_dir"] and args.data == config.RECIPES[name]["data"]
    for other, (other_script, other_every) in TRAINING.items():
        if other != dataset:
            with pytest.raises(SystemExit) as refused:
                parsed(other_script, [other_every, "--recipe", name], monkeypatch)
            assert refused.value.code == 2
            assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_recipe_of_another_data_set_is_one_line_from_the_command_line():
    assert_one_line_error(run_script("train_cifar.py", "--all_classes", "--recipe", "demo"), "--recipe demo")


def docstring_examples(script):
    """The `python train_*.py ...` commands in a script's docstring."""
    doc = ast.get_docstring(ast.parse((REPO / script).read_text()))
    return [line[line.index("python "):].split("  ")[0].strip() for line in doc.splitlines() if "python train_" in line]


@pytest.mark.parametrize("script", ["train_mnist.py", "train_cifar.py", "train_text.py", "train_gan.py"])
def test_no_docstring_example_overwrites_a_shipped_model(script, monkeypatch):
    """An example may train into a shipped folder only if it is the command that trained the models there."""
    examples = docstring_examples(script)
    assert examples
    for example in examples:
        args = parsed(script, example.split()[2:], monkeypatch)
        if args.models_dir in SHIPPED:
            records = (REPO / args.models_dir).glob("model_*.json")
            assert {json.loads(path.read_text())["command"] for path in records} == {example}, example


def test_shipped_records_hold_only_what_training_writes(tmp_path):
    """The keys of records written now by train_mnist.py, train_text.py and train_gan.py bound the keys of every
    shipped record: a measured accuracy lives in classification.json, written by the command that measured it."""
    result = run_script("train_mnist.py", "--digit", "0", "--num_images", "20", "--models_dir", tmp_path / "images",
                        *TINY_TRAINING[:-4], "--epochs", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    (tmp_path / "words.txt").write_text("the quick brown fox jumps over the lazy dog. " * 40)
    result = run_script("train_text.py", "--data", tmp_path / "words.txt", "--models_dir", tmp_path / "text",
                        "--units", "8", "--epochs", "1", "--seq_length", "16", "--lr_patience", "1")  # as trained/languages
    assert result.returncode == 0, result.stderr[-2000:]
    result = run_script("train_gan.py", "--data", "mnist-mini", "--num_images", "10", "--epochs", "1", "--conditional",
                        "--models_dir", tmp_path / "gan")
    assert result.returncode == 0, result.stderr[-2000:]
    written = {key for kind, stem in (("images", "model_0"), ("text", "model_0"), ("gan", "model_all"))
               for key in json.loads((tmp_path / kind / f"{stem}.json").read_text())}
    for folder in SHIPPED:
        for path in (REPO / folder).glob("model_*.json"):
            assert set(json.loads(path.read_text())) <= written, (path.name, set(json.loads(path.read_text())) - written)


def test_what_git_ships_in_trained_stays_under_24_megabytes():
    """Every file git tracks under trained/ (the shipped models, their records, the Fréchet network)
    adds up to less than 24 MB, the limit the project set itself; nothing else in trained/ is committed."""
    listed = subprocess.run(["git", "ls-files", "-z", "trained"], cwd=REPO, capture_output=True, text=True, check=False)
    if listed.returncode:
        pytest.skip("not a git checkout")
    shipped = [REPO / name for name in listed.stdout.split("\0") if name]
    assert shipped and sum(path.stat().st_size for path in shipped if path.is_file()) < 24_000_000


def test_the_tutorials_commands_still_parse_as_they_did(monkeypatch):
    args = parsed("train_mnist.py", ["--all_digits=True", "--num_images=60000", "--epochs=12"], monkeypatch)
    assert (args.all_digits, args.num_images, args.epochs, args.models_dir) == (True, 60000, 12, config.MNIST_MODELS_DIR)
    assert args.validation_split == config.VALIDATION_SPLIT == 0 and args.mode == config.MODE == "pixel"
    assert parsed("classification.py", ["--num_images=10000"], monkeypatch).num_images == 10000
    assert cli.str2bool("False") is False
