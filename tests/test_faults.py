"""Every refusal of the operating system on a path is one line naming the path and what is wrong, exit 2
when the path the user gave is refused and 1 when the machine is at fault, never "internal error";
atomic_write names the path and leaves no temporary file, and read_json refuses in one line."""

import ctypes
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from rnn_draw.library import UserError, atomic_write, read_json
from rnn_draw.commands import cli

LONG_NAME = "x" * 300 + ".png"  # beyond every common file system's 255-byte limit on a name
PR_CAPBSET_DROP = 24  # <linux/prctl.h>
# CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: what lets root past permission bits (<linux/capability.h>)
ROOTS_POWERS_OVER_FILES = (1, 2, 3)


def refusal(action):
    """The OSError the operating system raises for `action`, for real."""
    with pytest.raises(OSError) as raised:
        action()
    return raised.value


def assert_described(error, code, *fragments):
    described, message = cli.describe_fault(error)
    assert described == code and "\n" not in message and "internal error" not in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def test_a_name_too_long_is_named_shortened_in_the_middle(tmp_path):
    path = tmp_path / "generated" / LONG_NAME
    path.parent.mkdir()
    error = refusal(path.touch)
    assert error.errno == errno.ENAMETOOLONG
    message = assert_described(error, 2, "the file name is too long", str(tmp_path)[:20], "xxx.png")
    assert len(message) < 200  # the middle of the path is cut, both ends kept


def test_a_name_too_long_in_a_path_test_is_named(tmp_path):
    # pathlib's is_dir() raises for this one (output_file asks it of --out): it once ended as "internal error"
    error = refusal(lambda: (tmp_path / LONG_NAME).is_dir())
    assert_described(error, 2, "too long", "xxx.png")


def test_a_path_under_a_file_is_named(tmp_path):
    (tmp_path / "a_file").write_text("")
    error = refusal((tmp_path / "a_file" / "grid.png").touch)
    assert isinstance(error, NotADirectoryError)
    assert_described(error, 2, str(tmp_path / "a_file" / "grid.png"), "is a file, not a folder")


@pytest.mark.parametrize("make, code, words", [
    (lambda tmp: (tmp / "no_such.json").read_bytes(), 2, "no such file or folder"),
    (lambda tmp: tmp.read_bytes(), 2, "a folder, not a file"),
    (lambda tmp: os.mkdir(tmp), 2, "already there"),
    (lambda tmp: os.rmdir(tmp.parent), 2, "not empty"),
])
def test_refusals_of_the_users_paths_exit_2(tmp_path, make, code, words):
    error = refusal(lambda: make(tmp_path))
    assert_described(error, code, str(error.filename), words)


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="needs symbolic links")
def test_a_symbolic_link_loop_is_named(tmp_path):
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    error = refusal((tmp_path / "loop").read_bytes)
    assert error.errno == errno.ELOOP
    assert_described(error, 2, str(tmp_path / "loop"), "symbolic links")


def in_a_folder_without_write_permission(folder, code):
    """Run Python `code` in a child process for which `folder` (made 0o555) refuses writing, for real, and return
    the JSON it prints; the child gets the folder as sys.argv[1]. Root writes anywhere, so a child of root first
    gives up root's powers over files (Linux capabilities): the kernel then holds it to the permission bits as it
    would anyone. The suite runs as root in CI and in some containers."""
    drop = None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if not sys.platform.startswith("linux"):
            pytest.skip("root ignores permission bits, and giving up its powers is done here the Linux way")
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork: the child only calls it

        def drop():
            for capability in ROOTS_POWERS_OVER_FILES:
                if prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                    raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) refused")

    folder.chmod(0o555)
    try:
        result = subprocess.run([sys.executable, "-c", code, str(folder)], cwd=REPO, capture_output=True, text=True,
                                timeout=120, preexec_fn=drop)
    except subprocess.SubprocessError as error:  # the child could not give up root's powers (no CAP_SETPCAP)
        pytest.skip(f"root could not give up its powers over files here: {error}")
    finally:
        folder.chmod(0o700)
    assert result.returncode == 0 and result.stdout, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_a_folder_without_write_permission_is_named(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    refused = in_a_folder_without_write_permission(folder, """if True:
        import json, sys
        from pathlib import Path
        from rnn_draw.commands import cli
        try:
            (Path(sys.argv[1]) / "grid.png").touch()
            print(json.dumps("written"))
        except OSError as error:
            print(json.dumps([error.errno, *cli.describe_fault(error)]))
    """)
    assert refused != "written" and refused[0] == errno.EACCES, refused  # the system's own refusal
    number, code, message = refused
    assert code == 2 and "\n" not in message and "internal error" not in message, message
    assert str(folder / "grid.png") in message and "permission denied" in message, message
    assert os.listdir(folder) == []


def test_atomic_write_into_a_folder_without_permission_is_a_user_error(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    refused = in_a_folder_without_write_permission(folder, """if True:
        import json, sys
        from pathlib import Path
        from rnn_draw.library import UserError, atomic_write
        try:
            atomic_write(Path(sys.argv[1]) / "grid.png", lambda tmp: Path(tmp).write_text("x"))
            print(json.dumps("written"))
        except UserError as error:
            print(json.dumps(str(error)))
    """)
    assert refused == f"cannot write {folder / 'grid.png'}: permission denied", refused
    assert os.listdir(folder) == []  # no temporary file left behind


@pytest.mark.parametrize("number, words, kept", [
    (errno.ENOSPC, "the disk is full", True),
    (errno.EROFS, "read-only", True),
    (errno.EDQUOT, "quota", True),
    (errno.EFBIG, "too large", True),
    (errno.EIO, "input/output error", False),
])
def test_faults_of_the_machine_exit_1_naming_the_path(number, words, kept):
    error = OSError(number, os.strerror(number), "generated/grid.png")
    message = assert_described(error, 1, "generated/grid.png", words)
    assert ("nothing half-written was kept" in message) == kept


@pytest.mark.parametrize("number, words", [(errno.EACCES, "permission denied"), (errno.EPERM, "not permitted")])
def test_permission_refused_on_a_path_exits_2(number, words):
    """Both kinds of permission refusal, EPERM too, which the tests above do not meet for real."""
    assert_described(PermissionError(number, os.strerror(number), "trained/locked"), 2, "trained/locked", words)


def test_an_unexpected_errno_on_a_path_still_names_it():
    error = OSError(errno.ECONNRESET, os.strerror(errno.ECONNRESET), "data/mnist.npz")
    assert_described(error, 1, "data/mnist.npz", os.strerror(errno.ECONNRESET).lower())


def test_a_bytes_file_name_is_named():
    assert_described(OSError(errno.ENOENT, "No such file", b"data/\xff.npz"), 2, "data/", ".npz")


def test_without_a_path_faults_keep_their_wording():
    assert_described(OSError(errno.ENOSPC, "No space left on device"), 1, "cannot write: the disk is full")
    assert_described(PermissionError(errno.EACCES, "Permission denied"), 1, "permission denied")
    assert cli.describe_fault(OSError("something else"))[1].startswith("internal error")


def test_run_cli_prints_one_line_and_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["generate.py"])

    def main():
        (tmp_path / LONG_NAME).write_bytes(b"")

    with pytest.raises(SystemExit) as stop:
        cli.run_cli(main)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1, err
    assert err.startswith("generate.py: error: ") and "too long" in err and "internal error" not in err


# --- atomic_write and read_json --------------------------------------------------------------------


def test_atomic_write_into_a_name_too_long_names_it_and_leaves_nothing(tmp_path):
    path = tmp_path / LONG_NAME
    with pytest.raises(OSError) as raised:  # the name is refused at the rename, with its own name on the error
        atomic_write(path, lambda tmp: Path(tmp).write_text("x"))
    assert raised.value.filename == str(path)
    assert_described(raised.value, 2, "the file name is too long", "xxx.png")
    assert os.listdir(tmp_path) == []


def test_atomic_write_under_a_too_long_folder_is_a_user_error(tmp_path):
    path = tmp_path / ("d" * 300) / "grid.png"
    with pytest.raises(UserError) as refused:
        atomic_write(path, lambda tmp: Path(tmp).write_text("x"))
    assert str(path) in str(refused.value) and "too long" in str(refused.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("under", ["a_file", "a_file/models"])
def test_atomic_write_under_a_file_is_a_user_error_naming_the_path(tmp_path, under):
    (tmp_path / "a_file").write_text("kept")
    path = tmp_path / under / "grid.png"
    with pytest.raises(UserError) as refused:
        atomic_write(path, lambda tmp: Path(tmp).write_text("x"))
    assert str(refused.value) == f"cannot write {path}: a part of the path is a file, not a folder"
    assert sorted(os.listdir(tmp_path)) == ["a_file"] and (tmp_path / "a_file").read_text() == "kept"


def test_atomic_write_takes_a_name_near_the_limit(tmp_path):
    """The temporary file's name is short, so a name the file system takes is not refused for it."""
    limit = os.pathconf(tmp_path, "PC_NAME_MAX") if hasattr(os, "pathconf") else 255
    path = tmp_path / ("n" * (limit - 4) + ".png")
    atomic_write(path, lambda tmp: Path(tmp).write_text("x"))
    assert os.listdir(tmp_path) == [path.name] and path.read_text() == "x"


@pytest.mark.parametrize("fault", [
    OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),  # no file name: the temporary file's is not the user's
    KeyboardInterrupt(),
])
def test_a_failed_write_keeps_the_old_file_and_no_temporary_one(tmp_path, fault):
    path = tmp_path / "grid.png"
    path.write_text("old")

    def write(tmp):
        Path(tmp).write_text("half")
        raise fault

    with pytest.raises(type(fault)) as raised:
        atomic_write(path, write)
    assert os.listdir(tmp_path) == ["grid.png"] and path.read_text() == "old"
    if isinstance(fault, OSError):
        assert raised.value.filename == str(path)
        assert_described(raised.value, 1, f"cannot write {path}: the disk is full; nothing half-written was kept")


def test_a_write_fault_on_the_temporary_file_is_told_under_the_users_name(tmp_path):
    path = tmp_path / "grid.png"

    def write(tmp):
        raise OSError(errno.EIO, os.strerror(errno.EIO), tmp)

    with pytest.raises(OSError) as raised:
        atomic_write(path, write)
    assert raised.value.filename == str(path) and os.listdir(tmp_path) == []


def test_read_json_refuses_a_name_too_long_in_one_line(tmp_path):
    path = tmp_path / (LONG_NAME + ".json")
    with pytest.raises(UserError, match="too long") as refused:
        read_json(path)
    assert str(path) in str(refused.value)


@pytest.mark.parametrize("text", ["[" * 100_000, "{", "\xff", "1" * 5000, '{"a": 1,}'])
def test_read_json_refuses_malformed_json_in_one_line(tmp_path, text):
    path = tmp_path / "manifest.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(UserError) as refused:
        read_json(path)
    assert str(refused.value).startswith(f"{path}: unreadable JSON") and "\n" not in str(refused.value)


def test_read_json_of_a_missing_file_is_empty(tmp_path):
    assert read_json(tmp_path / "manifest.json") == {}
