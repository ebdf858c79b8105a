"""Where one training step's time goes: TensorFlow's profiler over steady-state `fit` steps.

    python benchmarks/profile_step.py [--precision mixed_bfloat16] [--steps 5] [--logdir DIR]

Prints op time per step by op type (after oneDNN's rewrites), then by update (D's, G's, G's
forward for D's fakes), direction and kind (convolutions, BatchNormalization, dropout, ...).
Op time is summed over TensorFlow's threads, so it exceeds the step's wall time when two ops
run at once. Fractions hold under CPU contention; absolute times do not.
"""

import collections
import glob
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dcgan.cli import quiet_tensorflow  # noqa: E402

quiet_tensorflow()
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from dcgan import data, trainset  # noqa: E402
from dcgan.training import Config, build  # noqa: E402


def profile(precision, steps, batch, logdir):
    x, _, _ = data.load("sample", log=lambda m: None)
    gan = build(
        Config(batch_size=batch, precision=precision).resolved(), tf.distribute.get_strategy()
    )
    ds = trainset.make_dataset(x, batch // 2, seed=0, repeat=True)
    marks = []
    clock = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: marks.append(time.perf_counter())
    )
    gan.fit(ds, epochs=1, steps_per_epoch=6, verbose=0)  # trace and warm up
    options = tf.profiler.experimental.ProfilerOptions(
        host_tracer_level=2, python_tracer_level=0, device_tracer_level=0
    )
    tf.profiler.experimental.start(logdir, options=options)
    gan.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[clock])
    tf.profiler.experimental.stop()
    return (marks[-1] - marks[0]) / (len(marks) - 1)


def op_events(logdir):
    """(op name, op type, duration ps) of every TensorFlow op the host tracer saw."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(
        open(sorted(glob.glob(f"{logdir}/plugins/profile/*/*.xplane.pb"))[-1], "rb").read()
    )
    plane = next(p for p in space.planes if p.name == "/host:CPU")
    for line in plane.lines:
        if line.name.startswith("tf_Compute"):
            for e in line.events:
                name = plane.event_metadata[e.metadata_id].name
                if ":" in name and not name.startswith(("Thread", "Executor")):
                    yield (*name.rsplit(":", 1), e.duration_ps)


def kind(name, typ):
    if "Conv" in typ or "MatMul" in typ:
        return "conv/matmul"
    for part, label in (
        ("batch_normalization", "batchnorm"),
        ("dropout", "dropout"),
        ("leaky", "leaky_relu"),
        ("re_lu", "relu"),
    ):
        if part in name:
            return label
    return "bias" if "BiasAdd" in typ else "cast" if typ == "Cast" else "other"


def main():
    from dcgan.cli import CliParser

    p = CliParser("python benchmarks/profile_step.py", __doc__)
    p.add_argument("--precision", default="mixed_bfloat16")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument(
        "--logdir", default=None, help="keep the trace here (TensorBoard's profile plugin reads it)"
    )
    args = p.parse_args()
    logdir = args.logdir or tempfile.mkdtemp(prefix="dcgan-profile-")
    wall = profile(args.precision, args.steps, args.batch_size, logdir)
    by_type, count = collections.Counter(), collections.Counter()
    rollups = {k: collections.Counter() for k in ("update", "direction", "kind")}
    for name, typ, ps in op_events(logdir):
        by_type[typ] += ps
        count[typ] += 1
        update = (
            "G's update"
            if "adversarial" in name or "adam_1" in name
            else "G forward for D's fakes"
            if "/generator_1/" in name
            else "D's update"
        )
        rollups["update"][update] += ps
        rollups["direction"][
            (
                "backward"
                if "gradient_tape" in name
                else "optimizer"
                if "adam" in name.lower()
                else "forward"
            )
        ] += ps
        rollups["kind"][kind(name, typ)] += ps
    total = sum(by_type.values())
    ms = lambda ps: ps / 1e9 / args.steps  # noqa: E731
    print(
        f"{args.precision}, batch {args.batch_size}: {wall * 1e3:.0f} ms/step wall "
        f"({args.batch_size / wall:.0f} images/s while profiled), {ms(total):.0f} ms/step of op "
        "time"
    )
    print(f"{'op type':<44}{'per step':>9}{'ms/step':>9}{'%':>7}")
    for typ, ps in by_type.most_common(15):
        print(f"{typ:<44}{count[typ] / args.steps:>9.0f}{ms(ps):>9.1f}{100 * ps / total:>7.1f}")
    for title, counter in rollups.items():
        print(
            f"-- by {title}: "
            + ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in counter.most_common())
        )
    print(f"trace: {logdir}")


if __name__ == "__main__":
    from dcgan.cli import run_cli  # bad input: one line and exit 2, as the commands answer

    run_cli(lambda argv: main())
