"""Soak: many resume-state loads and generator loads in one process must not leak.

    python benchmarks/soak.py                                # 200 iterations, a fresh tiny model
    python benchmarks/soak.py --run runs/X --iterations 500  # a real run's state and generator

Each iteration restores a resume state file into one built DCGAN (`callbacks.load_state`, as
--resume does), loads the generator with `sampling.load_generator` (a new Keras model each
time, as an evaluation script or a service reloading its model does) and draws a few digits
from it. Open file descriptors (/proc/self/fd) and resident memory (VmRSS in /proc/self/status)
are reported, each after gc.collect(), at the start, after --warmup iterations and at the end.
Exit status 1 when the descriptors grew after the warm-up, or RSS grew by more than
--max-rss-growth-mb after it. Linux only (/proc).
"""

import gc
import os
from pathlib import Path
import sys
import tempfile
import time

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def measure():
    """(open fds, RSS MB), after a full garbage collection: a Keras model is a web of reference
    cycles that Python frees only at its (rare) full collections, and memory waiting for one is
    not a leak; what survives `gc.collect()` is."""
    gc.collect()
    return open_fds(), rss_mb()


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def fixtures(run, scratch):
    """(state file, generator file, built DCGAN): from --run, else from an untrained tiny model."""
    import tensorflow as tf

    from dcgan import checkpoints, training

    strategy = tf.distribute.get_strategy()
    if run:
        run = Path(run)
        state, _ = checkpoints.latest_state(run)
        if state is None or not (run / "generator.h5").exists():
            sys.exit(
                f"error: {run} has no state_eNNNN.npz and generator.h5: pass --run a finished run"
            )
        cfg = training.Config.of_run(run).resolved()
        return state, run / "generator.h5", training.build(cfg, strategy)
    cfg = training.Config(batch_size=32, data="sample").resolved()
    gan = training.build(cfg, strategy)
    gan.d_optimizer.build(gan.discriminator.trainable_variables)  # as after a first train step
    gan.g_optimizer.build(gan.generator.trainable_variables)
    state, generator = Path(scratch) / "state_e0001.npz", Path(scratch) / "generator.h5"
    checkpoints.save_state(gan, state, 1)
    checkpoints.atomic_save(gan.generator, generator)
    return state, generator, gan


def main(argv=None):
    from dcgan.cli import CliParser

    p = CliParser("python benchmarks/soak.py", __doc__)
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20, help="iterations before the baseline is taken")
    p.add_argument("--digits", type=int, default=8, help="digits generated per iteration")
    p.add_argument(
        "--run", default=None, help="a finished run directory (default: a fresh tiny model)"
    )
    p.add_argument(
        "--max-rss-growth-mb",
        type=float,
        default=200.0,
        help="allowed RSS growth from the warm-up baseline to the end",
    )
    args = p.parse_args(argv)
    if not 0 < args.warmup < args.iterations:
        p.error("need 0 < --warmup < --iterations")

    from dcgan.cli import quiet_tensorflow

    quiet_tensorflow()
    from dcgan import checkpoints, sampling

    start = measure()
    print(f"start (TensorFlow imported)  fds {start[0]:4d}  rss {start[1]:8.1f} MB")
    with tempfile.TemporaryDirectory() as scratch:
        state, generator_path, gan = fixtures(args.run, scratch)
        t0 = time.time()
        for i in range(1, args.iterations + 1):
            epoch = checkpoints.load_state(gan, state)
            g = sampling.load_generator(generator_path)
            digits = sampling.generate(g, args.digits, seed=i)
            assert digits.shape == (args.digits, 28, 28) and epoch >= 1
            del g, digits
            if i == args.warmup:
                base = measure()
                print(f"after {i:4d} (baseline)      fds {base[0]:4d}  rss {base[1]:8.1f} MB")
        end = measure()
    wall = time.time() - t0
    print(f"after {args.iterations:4d} (end)           fds {end[0]:4d}  rss {end[1]:8.1f} MB")
    per = (end[1] - base[1]) / (args.iterations - args.warmup)
    print(
        f"{args.iterations} iterations in {wall:.1f} s ({1000 * wall / args.iterations:.0f} ms "
        "each); "
        f"after warm-up: fds {end[0] - base[0]:+d}, rss {end[1] - base[1]:+.1f} MB "
        f"({per * 1024:+.1f} kB/iteration)"
    )
    failures = []
    if end[0] > base[0]:
        failures.append(f"open file descriptors grew from {base[0]} to {end[0]}")
    if end[1] - base[1] > args.max_rss_growth_mb:
        failures.append(
            f"RSS grew by {end[1] - base[1]:.1f} MB, more than {args.max_rss_growth_mb:g} MB"
        )
    for f in failures:
        print(f"FAIL: {f}")
    print("PASS" if not failures else "FAIL")
    return 1 if failures else 0


if __name__ == "__main__":
    from dcgan.cli import run_cli  # bad input: one line and exit 2, as the commands answer

    run_cli(main)
