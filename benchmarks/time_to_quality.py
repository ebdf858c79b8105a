"""Time to quality: the reference loop against the project's default training, same budget.

    python benchmarks/time_to_quality.py [--budget 24] [--marks 4] [--eval-samples 2000]
                                         [--data PATH] [--json results.json]

Trains, one after the other in this process, on the same data and machine:
(a) the reference loop that `throughput.py` times (two `train_on_batch` calls a step, scipy's
    noise and soft labels), scoring its generator;
(b) the project's default training (`training.Config()` defaults: the training twins, the
    precision `auto` picks, EMA), scoring the generator a run ships (the EMA one).
Each gets `--budget` minutes of training; the clock stops while a generator is scored, with the
project's FID (`metrics.evaluate_generator`, n = --eval-samples against the test digits) at
each of `--marks` equal fractions of the budget. Prints FID against minutes for both and the
minutes (b) needed to reach (a)'s final FID.
"""

import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dcgan.errors import quiet_tensorflow  # noqa: E402

quiet_tensorflow()
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from throughput import reference_loop  # noqa: E402

from dcgan import data, metrics  # noqa: E402
from dcgan.training import Config, build  # noqa: E402


class Clock:
    """Training seconds, with scoring left out: `score(minutes)` runs at each mark."""

    def __init__(self, budget_s, marks, score):
        self.marks = [budget_s * (i + 1) / marks for i in range(marks)]
        self.score, self.trained, self.started = score, 0.0, None
        self.curve = []  # (minutes, fid)

    def start(self):
        self.started = time.perf_counter()

    def tick(self):
        """Adds the time since start(); scores at each mark passed. True once the budget is
        spent."""
        self.trained += time.perf_counter() - self.started
        while self.marks and self.trained >= self.marks[0]:
            self.marks.pop(0)
            self.curve.append((self.trained / 60, self.score()))
            print(f"  {self.trained / 60:6.2f} min  FID {self.curve[-1][1]:.3f}", flush=True)
        self.started = time.perf_counter()
        return not self.marks


def reference(x, budget_s, marks, score, batch):
    run, g, _ = reference_loop(x, batch)
    clock = Clock(budget_s, marks, lambda: score(g))
    steps = 0
    clock.start()
    while True:
        run(1)
        steps += 1
        if clock.tick():
            return clock.curve, steps


def project(x, budget_s, marks, score, batch):
    cfg = Config(batch_size=batch).resolved()
    gan = build(cfg, tf.distribute.get_strategy())
    ds = data.make_dataset(x, batch // 2, seed=cfg.seed, repeat=True)
    shipped = (lambda: gan.calibrated_ema()) if gan.ema_generator is not None else None
    clock = Clock(budget_s, marks, lambda: score((shipped or (lambda: gan.generator))()))
    steps = []

    class Budget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            clock.start()

        def on_train_batch_end(self, batch, logs=None):
            steps.append(batch)
            if clock.tick():
                self.model.stop_training = True

    gan.fit(ds, epochs=1, steps_per_epoch=10**9, verbose=0, callbacks=[Budget()])
    return clock.curve, len(steps), cfg


def minutes_to_reach(curve, target):
    """The first mark's minutes whose FID is at or below target, linearly interpolated between
    marks; None if never."""
    previous = (0.0, float("inf"))
    for minutes, fid in curve:
        if fid <= target:
            m0, f0 = previous
            if not np.isfinite(f0):
                return minutes
            return m0 + (minutes - m0) * (f0 - target) / (f0 - fid)
        previous = (minutes, fid)
    return None


def main():
    from dcgan.errors import CliParser

    p = CliParser("python benchmarks/time_to_quality.py", __doc__)
    p.add_argument("--budget", type=float, default=24.0, help="training minutes each")
    p.add_argument("--marks", type=int, default=4, help="FID checks per budget, equally spaced")
    p.add_argument("--eval-samples", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--data", default=None, help="as dcgan.train's --data (default: $DCGAN_DATA)")
    p.add_argument("--json", default=None, help="also write the curves here")
    args = p.parse_args()
    from dcgan import files

    if args.budget <= 0 or args.marks < 1 or args.eval_samples < 50 or args.batch_size < 2:
        raise ValueError(
            "--budget, --marks, --eval-samples (50+) and --batch-size must be positive"
        )
    if args.json:  # before the hours of work, not after
        files.check_destination(args.json, "--json")
    x, _, source = data.load(args.data, log=lambda m: None)
    test, _, _ = data.load(args.data, "test", log=lambda m: None)
    classifier = metrics.load_classifier()
    ref = metrics.real_features(classifier, test)

    def score(generator):
        return float(
            metrics.evaluate_generator(generator, classifier, ref, n=args.eval_samples, seed=0)[
                "fid"
            ]
        )

    budget_s = args.budget * 60
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{len(tf.config.list_logical_devices('GPU')) or 'no'} GPU; TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}; {time.strftime('%Y-%m-%d')}"
    )
    print(
        f"data: {source} ({len(x)} images); budget {args.budget:g} min each; FID of "
        f"{args.eval_samples} digits against {len(test)} test digits"
    )
    print("(a) reference loop")
    ref_curve, ref_steps = reference(x, budget_s, args.marks, score, args.batch_size)
    print("(b) project default")
    proj_curve, proj_steps, cfg = project(x, budget_s, args.marks, score, args.batch_size)
    print(f"\n{'minutes':>8}{'(a) reference':>15}{'(b) project':>13}")
    for (m, a), (_, b) in zip(ref_curve, proj_curve):
        print(f"{m:>8.1f}{a:>15.2f}{b:>13.2f}")
    target = ref_curve[-1][1]
    reach = minutes_to_reach(proj_curve, target)
    print(
        f"steps: (a) {ref_steps}, (b) {proj_steps} ({cfg.precision}, nets {cfg.nets}, "
        f"EMA {cfg.ema})"
    )
    print(
        f"(b) reaches (a)'s {args.budget:g}-minute FID {target:.2f} in "
        + (f"{reach:.1f} min" if reach is not None else f"more than {args.budget:g} min")
    )
    if args.json:
        result = {
            "budget_min": args.budget,
            "reference": ref_curve,
            "project": proj_curve,
            "steps": {"reference": ref_steps, "project": proj_steps},
            "minutes_to_reference_fid": reach,
            "config": {"precision": cfg.precision, "nets": cfg.nets, "ema": cfg.ema},
        }
        files.write_text(args.json, json.dumps(result, indent=1))


if __name__ == "__main__":
    from dcgan.errors import run_cli  # bad input: one line and exit 2, as the commands answer

    run_cli(lambda argv: main())
