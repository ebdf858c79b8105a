"""Time to quality: FID against training minutes and steps, for several recipes and seeds.

    python benchmarks/time_to_quality.py --data mnist.npz [--configs loop,reference,b64]
        [--seeds 0,1,2] [--budget 20] [--marks 4] [--step-marks 500,1000,2000]
        [--eval-samples 5000] [--table study.jsonl] [--plot study.png] [--json results.json]
    python benchmarks/time_to_quality.py --list       # the configurations it knows

Each (configuration, seed) trains for `--budget` minutes, one after the other in this process,
on the same data and machine. The clock stops while a generator is scored: at each of `--marks`
equal fractions of the budget and at each step of `--step-marks`, FID (and precision/recall)
of n = --eval-samples generated images against 10,000 training images, in the features of the
data's classifier (`dcgan.classifier.for_data`: MNIST's or Fashion-MNIST's). The project's
configurations are scored by the generator a run ships (the EMA one); `loop` is the reference
script's own loop (two `train_on_batch` calls a step, scipy's noise; `throughput.py`).

With `--table`, every finished (data, configuration, seed, budget) is appended there as one
JSON line as soon as it ends, and a rerun skips those already in it: a study longer than a
sitting resumes where it stopped (an unfinished run starts again). The summary printed at the
end, and `--plot` (FID against minutes, one line per configuration: the mean over seeds, each
seed faint), read the whole table.
"""

import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dcgan.cli import quiet_tensorflow  # noqa: E402

quiet_tensorflow()
import keras  # noqa: E402
import numpy as np  # noqa: E402

from dcgan import datasets, distribute, files, metrics, sampling, trainset  # noqa: E402
from dcgan.classifier import for_data, load_classifier  # noqa: E402
from dcgan.images import save_grid  # noqa: E402
from dcgan.training import Config, build  # noqa: E402

# The recipes compared: Config fields over its defaults. Every one keeps the card's recipe (the
# nets, the stacked model with frozen D, truncated-normal noise, soft targets); `loop` is not a
# Config but the reference script's loop.
CONFIGS = {
    "loop": None,
    "reference": dict(batch_size=256, lr=2e-4, beta1=0.5, beta2=0.999, ema=0.999),
    "b128": dict(batch_size=128),
    "b64": dict(batch_size=64),
    "b32": dict(batch_size=32),
    "b16": dict(batch_size=16),
    "b32-lr4e-4": dict(batch_size=32, lr=4e-4),
    "b32-lr1e-4": dict(batch_size=32, lr=1e-4),
    "b32-ttur": dict(batch_size=32, lr=1e-4, d_lr=4e-4),
    "b32-ema0.99": dict(batch_size=32, ema=0.99),
    "b32-ema0.9999": dict(batch_size=32, ema=0.9999),
    "b64-lr4e-4": dict(batch_size=64, lr=4e-4),
    "b64-ttur": dict(batch_size=64, lr=1e-4, d_lr=4e-4),
    "b64-beta0.9": dict(batch_size=64, beta2=0.9),
    "b64-ema0.9999": dict(batch_size=64, ema=0.9999),
    "b64-ema0.99": dict(batch_size=64, ema=0.99),
    "b64-warmup100": dict(batch_size=64, ema_warmup=100.0),
    "b64-lr1e-4": dict(batch_size=64, lr=1e-4),
    "b16-lr4e-4": dict(batch_size=16, lr=4e-4),
    "b32-lr4e-4-ema0.9999": dict(batch_size=32, lr=4e-4, ema=0.9999),
    "b32-lr4e-4-beta0.9": dict(batch_size=32, lr=4e-4, beta2=0.9),
    "b32-lr4e-4-dlr2e-4": dict(batch_size=32, lr=4e-4, d_lr=2e-4),
    "b32-lr8e-4": dict(batch_size=32, lr=8e-4),
}
REFERENCE_IMAGES = 10_000  # training images each FID is computed against


class Clock:
    """Training seconds, with scoring left out: `score(score_model())` runs at each minute mark
    passed and at each step mark reached; `curve` collects what it returns with the minutes and
    steps. The trainer sets `score_model`, which returns the generator to score."""

    def __init__(
        self, budget_s, marks, score, step_marks=(), max_steps=None, grid_name=None, on_mark=None
    ):
        self.marks = [budget_s * (i + 1) / marks for i in range(marks)] if budget_s else []
        self.max_steps = max_steps
        self.step_marks = sorted({*step_marks, *([max_steps] if max_steps else [])})
        self.score, self.trained, self.started, self.steps = score, 0.0, None, 0
        self.grid_name = grid_name  # (minutes, steps) -> a PNG path, or None for no pictures
        self.curve = []  # dicts: minutes, steps, at ("minutes" or "steps"), and the scores
        self.on_mark = on_mark  # called with the curve so far after each mark

    def start(self):
        self.started = time.perf_counter()

    def _mark(self, at):
        generator = self.score_model()
        scores = self.score(generator)
        if self.grid_name:
            images = sampling.generate(generator, 100, seed=0)
            save_grid(images, self.grid_name(self.trained / 60, self.steps), cols=10)
        self.curve.append({"minutes": self.trained / 60, "steps": self.steps, "at": at, **scores})
        if self.on_mark:
            self.on_mark(self.curve)
        print(
            f"  {self.trained / 60:6.2f} min {self.steps:6d} steps  FID {scores['fid']:7.3f}  "
            f"precision {scores['precision']:.3f} recall {scores['recall']:.3f}",
            flush=True,
        )

    def tick(self, steps=1):
        """Counts `steps` more and adds the time since start(); scores at each mark passed. True
        once the budget (minutes, or `max_steps`) is spent."""
        self.trained += time.perf_counter() - self.started
        self.steps += steps
        while self.step_marks and self.steps >= self.step_marks[0]:
            self.step_marks.pop(0)
            self._mark("steps")
        while self.marks and self.trained >= self.marks[0]:
            self.marks.pop(0)
            self._mark("minutes")
        self.started = time.perf_counter()
        if self.max_steps:
            return self.steps >= self.max_steps
        return not self.marks


def train_loop(train, clock, batch, seed):
    from throughput import reference_loop  # TensorFlow's, like the reference script

    run, g, _ = reference_loop(train.images, batch, seed)
    clock.score_model = lambda: g
    clock.start()
    while True:
        run(1)
        if clock.tick():
            return


def numpy_batches(images, batch, seed):
    """Endless float batches in [-1, 1] (n, h, w, 1), reshuffled each pass, remainder dropped:
    what `train.dataset` gives, without tf.data."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(images))
        for i in range(0, len(order) - batch + 1, batch):
            x = images[np.sort(order[i : i + batch])].astype(np.float32)
            yield (((x - 127.5) / 127.5)[..., None] if x.ndim == 3 else (x - 127.5) / 127.5,)


def train_project(train, clock, cfg, chunk=500):
    gan = build(cfg, distribute.get_strategy())
    clock.score_model = gan.calibrated_ema if gan.ema is not None else (lambda: gan.generator)
    if keras.backend.backend() != "tensorflow":
        # JAX's fit hands the weights back to the model only when it returns, and a JAX machine
        # may have no TensorFlow (so no tf.data): numpy batches, one fit call per stretch
        # between marks (Keras keeps the compiled step).
        ds = numpy_batches(train.images, cfg.batch_size // 2, cfg.seed)
        while True:
            n = min([m - clock.steps for m in clock.step_marks] + [chunk])
            clock.start()
            gan.fit(ds, epochs=1, steps_per_epoch=n, verbose=0, shuffle=False)
            if clock.tick(n):
                return
    ds = train.dataset(cfg.batch_size // 2, seed=cfg.seed, repeat=True)

    class Budget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            clock.start()

        def on_train_batch_end(self, batch, logs=None):
            if clock.tick():
                self.model.stop_training = True

    gan.fit(ds, epochs=1, steps_per_epoch=10**9, verbose=0, callbacks=[Budget()])


def minutes_to_reach(curve, target):
    """The first mark's minutes whose FID is at or below target, linearly interpolated between
    marks; None if never. `curve`: (minutes, fid) pairs."""
    previous = (0.0, float("inf"))
    for minutes, fid in curve:
        if fid <= target:
            m0, f0 = previous
            if not np.isfinite(f0):
                return minutes
            return m0 + (minutes - m0) * (f0 - target) / (f0 - fid)
        previous = (minutes, fid)
    return None


def read_table(path, partial=False):
    """The table's rows: the finished runs, and with `partial` also the marks of runs cut off
    before their budget was spent (kept for the record; the same command trains those again)."""
    if not path or not os.path.exists(path):
        return []
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if partial or not r.get("partial")]


def write_row(path, row):
    """Puts `row` in the table at `path` in place of any row of the same run, atomically: a run
    writes its row at every mark, so a study cut off keeps every mark it reached."""
    rows = [r for r in read_table(path, partial=True) if key(r) != key(row)] + [row]
    files.write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


def key(row):
    return (row["data"], row["config"], row["seed"], row["budget_min"], row.get("budget_steps"))


def host_line():
    """The machine and the backend the runs trained on, for each row."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = len(tf.config.list_logical_devices("GPU")) or "no"
        where = f"{gpus} GPU; TensorFlow {tf.__version__}"
    else:
        import jax

        devices = jax.devices()
        where = f"{len(devices)} x {devices[0].device_kind}; {backend} {jax.__version__}"
    cores = f"{len(os.sched_getaffinity(0))} of {os.cpu_count()} cores"
    return f"{platform.machine()}, {cores}, {where}, Keras {keras.__version__}"


def summarize(rows, budget):
    """Lines of the table: per data and configuration, FID at each minute mark (mean, and the
    worst seed), steps, and each seed's final FID, the losers included."""
    lines = []
    for data_name in sorted({r["data"] for r in rows}):
        mine = [r for r in rows if r["data"] == data_name and r["budget_min"] == budget]
        names = [c for c in CONFIGS if any(r["config"] == c for r in mine)]
        names += sorted({r["config"] for r in mine} - set(names))
        if not names:
            continue
        marks = [p["minutes"] for p in minute_curve(mine[0])]
        head = "".join(f"{m:>13.1f}m" for m in marks)
        lines += [f"\n{data_name}, {budget:g} minutes: FID mean (worst seed)", f"{'':16}{head}"]
        for name in names:
            runs = [r for r in mine if r["config"] == name]
            fids = np.array([[p["fid"] for p in minute_curve(r)] for r in runs])
            cells = "".join(f"{m:>8.2f} ({w:5.1f})" for m, w in zip(fids.mean(0), fids.max(0)))
            steps = int(np.mean([r["steps"] for r in runs]))
            seeds = ", ".join(f"{r['seed']}: {minute_curve(r)[-1]['fid']:.2f}" for r in runs)
            lines.append(f"{name:<16}{cells}   steps {steps}, seeds {seeds}")
    return lines


def minute_curve(row):
    return [p for p in row["curve"] if p["at"] == "minutes"]


def step_curve(row):
    return sorted(row["curve"], key=lambda p: p["steps"])


def cpu_rates(rows):
    """{(data, configuration): steps per training minute}, from the rows trained for minutes (on a
    CPU): what turns the step-budget rows of a faster machine into CPU minutes."""
    rates = {}
    for r in rows:
        if r.get("budget_min"):
            rates.setdefault((r["data"], r["config"]), []).append(r["steps"] / r["budget_min"])
    return {k: float(np.mean(v)) for k, v in rates.items()}


def fid_at_steps(row, steps):
    """FID at `steps`, interpolated in log FID between the marks around it; None outside them."""
    c = [(p["steps"], p["fid"]) for p in step_curve(row)]
    for (s0, f0), (s1, f1) in zip(c, c[1:]):
        if s0 <= steps <= s1:
            t = (steps - s0) / (s1 - s0) if s1 > s0 else 0.0
            return float(np.exp(np.log(f0) + t * (np.log(f1) - np.log(f0))))
    return None


def summarize_steps(rows, rates, minutes=(5, 20, 60)):
    """Lines for the step-budget rows: per data and configuration, FID at each step mark (mean,
    worst seed) and, where `rates` has the configuration's CPU pace, at `minutes` of that CPU."""
    lines = []
    for data_name in sorted({r["data"] for r in rows if r.get("budget_steps")}):
        mine = [r for r in rows if r["data"] == data_name and r.get("budget_steps")]
        names = list(dict.fromkeys(r["config"] for r in mine))
        lines.append(f"\n{data_name}, by steps: FID mean (worst seed)")
        for name in names:
            runs = [r for r in mine if r["config"] == name]
            marks = sorted(set.intersection(*({p["steps"] for p in r["curve"]} for r in runs)))
            cells = []
            for m in marks:
                f = [fid_at_steps(r, m) for r in runs]
                cells.append(f"{m}: {np.mean(f):.2f} ({max(f):.1f})")
            lines.append(f"{name:<16}{len(runs)} seeds  " + ", ".join(cells))
            rate = rates.get((data_name, name))
            if rate:
                at = []
                for m in minutes:
                    f = [fid_at_steps(r, m * rate) for r in runs]
                    fid = (
                        f"{np.mean(f):.2f} (worst {max(f):.2f})"
                        if None not in f
                        else "not measured"
                    )
                    at.append(f"{m} min ({m * rate:.0f} steps): {fid}")
                lines.append(f"{'':16}at {rate:.0f} CPU steps/min: " + "; ".join(at))
    return lines


def plot(rows, path, rates=None):
    """FID against training minutes (top) and against steps (bottom, every mark), one line per
    configuration: its mean over seeds, each seed faint. Steps do not depend on what else the
    machine was doing; minutes do. Rows trained for a number of steps (on a GPU) are drawn
    against CPU minutes where `rates` (`cpu_rates`) has their configuration's CPU pace."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = rates or {}
    colours = plt.get_cmap("tab20")
    sets = sorted({(r["data"], r["budget_min"] or 0, r.get("budget_steps") or 0) for r in rows})
    fig, axes = plt.subplots(2, len(sets), figsize=(6 * len(sets), 9), squeeze=False)
    for col, (data_name, budget, budget_steps) in enumerate(sets):
        mine = [
            r
            for r in rows
            if (r["data"], r["budget_min"] or 0, r.get("budget_steps") or 0)
            == (data_name, budget, budget_steps)
        ]
        for name in dict.fromkeys(r["config"] for r in mine):
            colour = colours(list(CONFIGS).index(name) % 20)  # a config's colour in every panel
            runs = [r for r in mine if r["config"] == name]
            rate = rates.get((data_name, name)) if budget_steps else None
            top = []
            for r in runs:
                c = step_curve(r)
                axes[1, col].plot(
                    [p["steps"] for p in c], [p["fid"] for p in c], color=colour, alpha=0.25
                )
                if budget_steps:
                    c = [dict(p, minutes=p["steps"] / rate) for p in c] if rate else []
                else:
                    c = minute_curve(r)
                top.append([(p["minutes"], p["fid"]) for p in c])
                if c:
                    axes[0, col].plot(*zip(*top[-1]), color=colour, alpha=0.25)
            label = f"{name} ({len(runs)} seed{'s' * (len(runs) > 1)})"
            if all(top) and len({len(t) for t in top}) == 1:
                m = np.array(top).mean(0)
                axes[0, col].plot(m[:, 0], m[:, 1], color=colour, marker="o", label=label)
            axes[1, col].plot([], [], color=colour, label=label)
        what = f"{budget:g}-minute budget" if budget else f"{budget_steps}-step budget"
        minutes = "CPU minutes at each configuration's measured pace" if budget_steps else None
        for row, x in enumerate((minutes or "training minutes (scoring excluded)", "steps")):
            ax = axes[row, col]
            ax.set(xlabel=x, ylabel="FID (EMA generator vs training images)", yscale="log")
            ax.set_title(f"{data_name}, {what}", fontsize=9)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def parse_ints(text, flag):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{flag} takes whole numbers separated by commas, not {text!r}") from None
    if not values or min(values) < 0:
        raise ValueError(f"{flag} takes whole numbers of 0 or more, not {text!r}")
    return values


def main():
    from dcgan.cli import CliParser

    p = CliParser("python benchmarks/time_to_quality.py", __doc__)
    p.add_argument("--configs", default="loop,reference", help="comma-separated, see --list")
    p.add_argument("--list", action="store_true", help="print the configurations and exit")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    p.add_argument("--budget", type=float, default=24.0, help="training minutes each")
    p.add_argument("--marks", type=int, default=4, help="FID checks per budget, equally spaced")
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="train each this many steps instead of --budget minutes (on a GPU, whose minutes "
        "are not a CPU's; --rates then turns steps into CPU minutes)",
    )
    p.add_argument("--step-marks", default="", help="also score at these steps (comma-separated)")
    p.add_argument("--eval-samples", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=None, help="overrides every config's")
    p.add_argument("--data", default=None, help="as dcgan.train's --data (default: $DCGAN_DATA)")
    p.add_argument("--table", default=None, help="JSON lines: appended per run, read to resume")
    p.add_argument(
        "--rates",
        default=None,
        help="a table of CPU runs (minute budgets): their steps per minute turn --steps rows into "
        "CPU minutes (default: the minute rows of --table)",
    )
    p.add_argument("--plot", default=None, help="FID against minutes, as a PNG")
    p.add_argument("--json", default=None, help="also write this invocation's runs here")
    p.add_argument(
        "--grids", default=None, help="folder: a 10x10 grid of the scored generator at each mark"
    )
    args = p.parse_args()
    if args.list:
        for name, over in CONFIGS.items():
            print(f"{name:<16}{over if over is not None else 'the reference script loop'}")
        return
    names = [c for c in args.configs.split(",") if c]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown:
        raise ValueError(f"unknown --configs {', '.join(unknown)}: pick from {', '.join(CONFIGS)}")
    seeds = parse_ints(args.seeds, "--seeds")
    step_marks = parse_ints(args.step_marks, "--step-marks") if args.step_marks else []
    if args.budget <= 0 or args.marks < 1 or args.eval_samples < 50:
        raise ValueError("--budget, --marks and --eval-samples (50+) must be positive")
    if args.grids:
        os.makedirs(args.grids, exist_ok=True)
    for path, flag in ((args.json, "--json"), (args.plot, "--plot")):
        if path:  # before the hours of work, not after
            files.check_destination(path, flag)
    train = trainset.load(args.data, log=lambda m: None)
    choice = for_data(args.data, images=train.images[:500])
    if choice.path is None:
        raise ValueError(f"{choice.where}: pass MNIST or Fashion-MNIST")
    classifier_path = choice.path
    # What the images are, not where they were: a table resumes from another copy of the data.
    data_name = f"{datasets.title(choice.kind)}, {train.count} images"
    classifier = load_classifier(classifier_path)
    pick = np.random.default_rng(0).permutation(train.count)[:REFERENCE_IMAGES]
    ref = metrics.real_features(classifier, train.images[np.sort(pick)])

    def score(generator):
        r = metrics.evaluate_generator(generator, classifier, ref, n=args.eval_samples, seed=0)
        return {k: float(r[k]) for k in ("fid", "precision", "recall", "coverage")}

    host = host_line()
    print(f"machine: {host}; {time.strftime('%Y-%m-%d')}")
    print(
        f"data: {data_name} ({train.source}); budget "
        + (f"{args.steps} steps" if args.steps else f"{args.budget:g} min")
        + f" each; FID of "
        f"{args.eval_samples} images against {len(pick)} training images"
    )
    done = {key(r) for r in read_table(args.table)}
    new = []
    for seed in seeds:
        for name in names:
            over = dict(CONFIGS[name] or {})
            if args.batch_size:
                over["batch_size"] = args.batch_size
            row = {"data": data_name, "config": name, "seed": seed, "budget_min": args.budget}
            if args.steps:  # minutes of this machine are not a CPU's: marks and budget in steps
                row.update(budget_min=None, budget_steps=args.steps)
            if key(row) in done:
                print(f"({name}, seed {seed}: in {args.table} already)")
                continue
            print(f"{name}, seed {seed}", flush=True)
            grid_name = None
            if args.grids:  # the same noise at every mark, so the pictures show one G maturing
                tag = os.path.join(args.grids, f"{choice.kind}-{name}-seed{seed}")
                grid_name = lambda m, s, tag=tag: f"{tag}-{m:05.1f}min-{s}steps.png"  # noqa: E731
            if CONFIGS[name] is None:
                cfg, batch = None, over.get("batch_size", 256)
                settings = {"batch_size": batch, "loop": "reference script"}
            else:
                cfg = Config(seed=seed, data=args.data, **over).resolved()
                settings = {
                    k: getattr(cfg, k)
                    for k in ("batch_size", "lr", "d_lr", "beta1", "beta2", "ema", "ema_warmup")
                }
                settings.update(precision=cfg.precision, nets=cfg.nets, jit=cfg.jit_compile)
            row.update(settings=settings, host=host, date=time.strftime("%Y-%m-%d"))

            def so_far(curve, row=row):
                if args.table:
                    steps = curve[-1]["steps"]
                    write_row(args.table, {**row, "steps": steps, "curve": curve, "partial": True})

            clock = Clock(
                None if args.steps else args.budget * 60,
                args.marks,
                score,
                step_marks,
                args.steps,
                grid_name,
                so_far,
            )
            if cfg is None:
                train_loop(train, clock, batch, seed)
            else:
                train_project(train, clock, cfg)
            row.update(steps=clock.steps, curve=clock.curve)
            new.append(row)
            if args.table:
                write_row(args.table, row)
    rows = read_table(args.table) if args.table else new
    rates = cpu_rates(read_table(args.rates) if args.rates else rows)
    print("\n".join(summarize(rows, args.budget) + summarize_steps(rows, rates)))
    loops = [r for r in new if r["config"] == "loop"]
    for r in new:
        if r["config"] != "loop" and loops:
            target = minute_curve(loops[0])[-1]["fid"]
            reach = minutes_to_reach([(p["minutes"], p["fid"]) for p in minute_curve(r)], target)
            print(
                f"{r['config']} (seed {r['seed']}) reaches the loop's {args.budget:g}-minute FID "
                f"{target:.2f} in "
                + (f"{reach:.1f} min" if reach is not None else f"more than {args.budget:g} min")
            )
    if args.plot and rows:
        plot(rows, args.plot, rates)
    if args.json:
        files.write_text(args.json, json.dumps(new, indent=1))


if __name__ == "__main__":
    from dcgan.cli import run_cli  # bad input: one line and exit 2, as the commands answer

    run_cli(lambda argv: main())
