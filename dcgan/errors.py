"""The one error users see, and the wrapper that turns it into one line and exit code 2."""
import os
import sys


class UsageError(Exception):
    """Bad input: the message says what is wrong and what to do instead, on one line."""


def quiet_tensorflow():
    """Imports TensorFlow with its start-up chatter (CUDA probes, oneDNN notices) silenced.

    TensorFlow writes those lines from C++ before its log level applies, so stderr is pointed at
    /dev/null for the import alone.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    import absl.logging
    absl.logging.set_verbosity(absl.logging.ERROR)  # Keras's "HDF5 is legacy" notice on every .h5


def run_cli(main, argv=None):
    """Runs `main(argv)`; bad input ends in one line on stderr and exit code 2, not a traceback."""
    quiet_tensorflow()
    try:
        code = main(argv)
    except UsageError as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("interrupted: files already written are kept", file=sys.stderr)
        code = 130
    sys.exit(code or 0)
