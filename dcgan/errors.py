"""How the command lines fail: one line on stderr and exit code 2, never a traceback.

The library raises Python's own exceptions (`ValueError`, `FileNotFoundError`, `OSError`) with a
message that says what to do instead; `run_cli` is the one place that turns them into that line.
"""

import argparse
import os
import sys


class UsageError(ValueError):
    """Bad input found by a command line: the message says what is wrong and what to do instead."""


class CliParser(argparse.ArgumentParser):
    """argparse, with its errors raised as UsageError (one line, exit 2 through `run_cli`)
    instead of argparse's usage dump, and `--version` ("dcgan X.Y.Z", exit 0, no TensorFlow)."""

    def __init__(self, prog, doc, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        lines = doc.strip().split("\n")
        super().__init__(
            prog=prog,
            description=lines[0],
            epilog="\n".join(lines[1:]).strip("\n") or None,
            **kwargs,
        )
        from dcgan import __version__

        self.add_argument(
            "--version", action="version", version=f"dcgan {__version__}", help="print the version"
        )

    def error(self, message):
        raise UsageError(f"{message} (see --help)")


def quiet_tensorflow():
    """Imports TensorFlow with its start-up chatter (CUDA probes, oneDNN notices) silenced.

    TensorFlow writes those lines from C++ before its log level applies, so stderr is pointed at
    /dev/null for the import and the device probe alone (on a host with CUDA's driver library
    but no GPU, the probe's "failed call to cuInit" line would otherwise come with the first op).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import tensorflow

            tensorflow.config.list_physical_devices("GPU")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)  # Keras's "HDF5 is legacy" notice on every .h5


def interrupt_on_sigterm():
    """SIGTERM (what `kill` and schedulers send) stops a run the way Ctrl-C does: files already
    written are kept, and the exit code is 130."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run_cli(main, argv=None):
    """Runs `main(argv)` and exits; bad input ends in one line on stderr and exit code 2.

    `main` parses its flags first and imports TensorFlow (through `quiet_tensorflow`) only once
    they are good, so `--help` and flag errors answer at once."""
    interrupt_on_sigterm()
    try:
        code = main(argv)
    except (ValueError, OSError) as e:  # UsageError, and the library's FileNotFoundError & co.
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("interrupted: files already written are kept", file=sys.stderr)
        code = 130
    sys.exit(code or 0)
