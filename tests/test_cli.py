"""The command lines' promise: flags answer before TensorFlow loads, and every error the library
raises reaches the user as one line and exit code 2."""

import pytest

from dcgan.cli import CliParser, UsageError, run_cli

from conftest import REPO, run_python

FAST_PATHS = """
import sys
from dcgan import evaluate, generate, train
from dcgan.cli import run_cli
for m, argv in ((train, ["--epochs", "0"]), (generate, ["--out", "x.gif"]),
                (evaluate, ["-n", "0", "--images", "x"]), (train, ["--arch", "gpt"])):
    m.parser().format_help()
    try:
        run_cli(m.main, argv)
    except SystemExit as e:
        assert e.code == 2, e.code
print(sorted(k for k in sys.modules if k.split(".")[0] in ("tensorflow", "keras")))
"""


def test_help_and_flag_errors_do_not_import_tensorflow(tmp_path):
    p = run_python("-c", FAST_PATHS, cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]", p.stdout
    assert p.stderr.count("error: ") == 4 and "Traceback" not in p.stderr


@pytest.mark.parametrize(
    "exc",
    [
        UsageError("bad flag: do this"),
        ValueError("bad value:\n do that"),
        FileNotFoundError("no file: pass another"),
    ],
)
def test_library_errors_become_one_line_and_exit_2(exc, capsys):
    def main(argv):
        raise exc

    with pytest.raises(SystemExit) as e:
        run_cli(main)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and str(exc).split()[0] in err


def test_argparse_errors_are_usage_errors():
    p = CliParser("prog", "One line.\n\n    example")
    p.add_argument("--n", type=int)
    with pytest.raises(UsageError, match="invalid int value: 'x' .*see --help"):
        p.parse_args(["--n", "x"])
    assert "example" in p.format_help()


def test_console_commands_are_the_same_mains():
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    for name in ("train", "generate", "evaluate"):
        target = scripts[f"dcgan-{name}"]
        module, func = target.split(":")
        assert module == f"dcgan.{name}"
        assert callable(getattr(__import__(module, fromlist=[func]), func))


BAD_BACKEND = """
import sys
from dcgan import demo, evaluate, generate, train
from dcgan.cli import run_cli
for m, argv in ((train, ["--epochs", "1", "--data", "sample"]), (generate, ["-n", "4"]),
                (evaluate, ["--images", "x.npz"]), (demo, [])):
    try:
        run_cli(m.main, argv)
    except SystemExit as e:
        assert e.code == 2, e.code
print(sorted(k for k in sys.modules if k.split(".")[0] in ("tensorflow", "keras", "torch")))
"""


@pytest.mark.parametrize(
    "value, says",
    [
        ("torch", "torch backend is not supported here yet"),
        ("JAX", "did you mean jax?"),
        (" tensorflow", "did you mean tensorflow?"),
        ("tensorfow", "not a Keras backend this project runs on"),
    ],
)
def test_a_bad_keras_backend_is_one_line_before_keras_loads(value, says, tmp_path):
    p = run_python("-c", BAD_BACKEND, cwd=tmp_path, timeout=120, KERAS_BACKEND=value)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]", p.stdout  # refused before Keras (and its backend) loads
    lines = p.stderr.strip().split("\n")
    assert len(lines) == 4 and "Traceback" not in p.stderr, p.stderr
    for line in lines:
        assert line.startswith(f"error: KERAS_BACKEND={value!r}") and says in line, line
        assert "set KERAS_BACKEND to tensorflow or jax" in line, line


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_a_backend_whose_library_is_missing_says_what_to_install(backend, monkeypatch):
    import importlib.util

    from dcgan import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == backend else real(name, *a)
    )
    monkeypatch.setenv("KERAS_BACKEND", backend)
    with pytest.raises(UsageError, match=f"{backend} is not installed: pip install") as e:
        cli.check_backend()
    other = "jax" if backend == "tensorflow" else "tensorflow"
    assert f"set KERAS_BACKEND to {other}" in str(e.value)
    for fine in ("tensorflow", "jax", ""):  # "" is unset to Keras too
        monkeypatch.setattr(importlib.util, "find_spec", real)
        monkeypatch.setenv("KERAS_BACKEND", fine)
        cli.check_backend()
