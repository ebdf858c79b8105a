"""Re-executes the bundled notebooks in place, saving them with their outputs.

    python notebooks/execute.py                           # all of them, with the normal settings
    python notebooks/execute.py 02_train_and_watch.ipynb  # just one
    DCGAN_GENERATOR=runs/<run>/generator.h5 python notebooks/execute.py   # another generator
    DCGAN_CONDITIONAL_GENERATOR=runs/<run>/generator.h5 \
        python notebooks/execute.py 04_ask_for_a_digit.ipynb

Each notebook runs in a fresh `python3` kernel with notebooks/ as its working directory, so the
default generators are ../saved_models/generator/generator.h5 and
../saved_models/conditional/generator.h5.
DCGAN_NB_FAST is ignored here: the committed outputs always come from the normal settings.
Needs nbclient, nbformat and ipykernel (the project's `test` extra).
"""

import os
from pathlib import Path
import sys
import time

HERE = Path(__file__).resolve().parent
NOTEBOOKS = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))


def execute(path, save=True, timeout=3600):
    """Runs the notebook at `path` top to bottom; raises nbclient's CellExecutionError on the
    first failing cell. With `save`, writes it back with its outputs. Returns the notebook."""
    from nbclient import NotebookClient
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    # capture_fd_output=False: TensorFlow's C++ start-up lines go to this terminal, not the
    # notebook.
    NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        record_timing=False,
        extra_arguments=["--IPKernelApp.capture_fd_output=False"],
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    if save:
        from dcgan import files

        files.write_text(path, nbformat.writes(nb) + "\n")
    return nb


def main(argv):
    os.environ.pop("DCGAN_NB_FAST", None)
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    for var, default in (
        ("DCGAN_GENERATOR", HERE.parent / "saved_models" / "generator" / "generator.h5"),
        (
            "DCGAN_CONDITIONAL_GENERATOR",
            HERE.parent / "saved_models" / "conditional" / "generator.h5",
        ),
    ):
        if not os.environ.get(var) and not default.exists():
            raise ValueError(
                f"no generator at {default}: put the shipped one there, or set {var} to a "
                "generator .h5"
            )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    paths = [HERE / Path(a).name for a in argv] or NOTEBOOKS
    unknown = [a for a, path in zip(argv, paths) if not path.is_file() or path.suffix != ".ipynb"]
    if unknown or any(a.startswith("-") for a in argv):
        names = ", ".join(p.name for p in NOTEBOOKS)
        raise ValueError(
            f"no notebook {', '.join(unknown or argv)} in {HERE}: name one or more of {names} "
            "(or none, for all of them)"
        )
    try:
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError as e:
        raise ValueError(
            f"{e.name} is not installed: pip install nbclient nbformat ipykernel "
            "(the project's test extra)"
        ) from None
    for path in paths:
        start = time.time()
        print(f"{path.name} ...", end=" ", flush=True)
        execute(path)
        print(f"{time.time() - start:.0f} s, {path.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    from dcgan.cli import run_cli  # bad input: one line and exit 2, as the commands answer

    run_cli(main, sys.argv[1:])
