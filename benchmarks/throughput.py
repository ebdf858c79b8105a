"""Training throughput: the reference's loop against the project's train step, in one process.

    python benchmarks/throughput.py [--steps 20] [--data sample|PATH] [--variants ...]
    python benchmarks/throughput.py --backend tensorflow,jax   # both Keras backends, a table each

(a) reference: the original script's loop, made to train D under Keras 3 (each model's train
    function traced while its own weights are trainable), two `train_on_batch` calls per step,
    noise and soft labels from scipy in numpy.
(b) project: `DCGAN.train_step` through `fit`, same nets, same batch, noise and labels in-graph,
    under each precision / steps_per_execution / XLA setting asked for, training the built-in
    nets or their fast twins (`--nets`, saved as the same built-in nets).
Images/s counts the batch (256 = 128 real + 128 generated for D, 256 for G) per step.
`--backend` runs the table under each Keras backend named (one process per backend, since a
process has one). (a) runs on TensorFlow only; on JAX every variant is the built-in nets under
XLA, so each precision is timed once.
"""

import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from dcgan.cli import quiet_tensorflow  # noqa: E402

quiet_tensorflow()
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from dcgan import data, models, trainset  # noqa: E402
from dcgan.distribute import get_strategy  # noqa: E402
from dcgan.training import Config, build  # noqa: E402


def forward_flops(model):
    """Multiply-adds x 2 of the Dense and conv layers for one example."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            h, w = layer.input.shape[1:3]  # each input pixel scatters a kxkxCout patch
            total += 2 * h * w * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Conv2D):
            h, w = layer.output.shape[1:3]
            total += 2 * h * w * int(np.prod(layer.kernel.shape))
    return total


def step_flops(g, d, batch):
    """One step: G makes batch/2 fakes; D forward+backward on the batch; G forward+backward
    through D on the batch (backward ~ 2x forward)."""
    fg, fd = forward_flops(g), forward_flops(d)
    return fg * batch // 2 + 3 * fd * batch + 3 * (fg + fd) * batch


def cpu_peak_gflops():
    """Cores x GHz x fp32 flops per cycle (two AVX-512 FMA units = 64), bf16 twice that."""
    mhz = 0.0
    try:
        mhz = max(
            float(row.split(":")[1]) for row in open("/proc/cpuinfo") if row.startswith("cpu MHz")
        )
    except (OSError, ValueError):
        pass
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    per_cycle = 64 if "avx512f" in flags else 32
    fp32 = os.cpu_count() * mhz / 1000 * per_cycle
    return fp32, (2 * fp32 if "avx512_bf16" in flags else fp32), mhz


def reference_loop(x, batch, seed=0):
    """The seed script's step, as it would have to be written to train D under Keras 3.
    Returns (run(steps), g, d)."""
    keras.utils.set_random_seed(seed)
    g, d = models.build_pair()
    d.compile(optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), loss="binary_crossentropy")
    adversarial = models.build_adversarial(g, d)
    rng = np.random.default_rng(seed)
    half = batch // 2
    xf = ((x.astype(np.float32) - 127.5) / 127.5)[..., None]
    frozen = [False]

    def step():
        real = xf[rng.integers(0, len(xf), half)]
        noise = stats.truncnorm.rvs(-1, 1, size=(half, 100), random_state=rng).astype(np.float32)
        fake = g.predict(noise, verbose=0)
        xs = np.concatenate([real, fake])
        ys = np.concatenate(
            [
                stats.truncnorm.rvs(0.7, 1.2, size=(half, 1), random_state=rng),
                stats.truncnorm.rvs(0.0, 0.3, size=(half, 1), random_state=rng),
            ]
        ).astype(np.float32)
        d.train_on_batch(xs, ys)
        if not frozen[0]:  # D's train function now exists with D trainable; freeze for G's
            d.trainable = False
            adversarial.compile(
                optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), loss="binary_crossentropy"
            )
            frozen[0] = True
        noise = stats.truncnorm.rvs(-1, 1, size=(batch, 100), random_state=rng).astype(np.float32)
        y = stats.truncnorm.rvs(0.7, 1.2, size=(batch, 1), random_state=rng).astype(np.float32)
        adversarial.train_on_batch(noise, y)

    def run(steps):
        t = time.perf_counter()
        for _ in range(steps):
            step()
        return time.perf_counter() - t

    return run, g, d


def project(x, batch, precision, spe, jit, nets):
    """Returns run(steps): the project's train step through fit."""
    cfg = Config(
        batch_size=batch, precision=precision, steps_per_execution=spe, jit_compile=jit, nets=nets
    ).resolved()
    gan = build(cfg, get_strategy())
    ds = trainset.make_dataset(x, batch // 2, seed=0, repeat=True)
    marks = []
    clock = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: marks.append(time.perf_counter())
    )

    def run(steps):
        """Seconds for `steps` steps in steady state: from the first batch end (one call of the
        train function, spe steps) to the last. fit's own set-up, once per epoch in real runs
        and sometimes seconds long, stays outside."""
        marks.clear()
        gan.fit(
            ds, epochs=1, steps_per_epoch=(steps // spe + 1) * spe, verbose=0, callbacks=[clock]
        )
        return marks[-1] - marks[0]

    return run


def main():
    from dcgan.cli import CliParser

    p = CliParser("python benchmarks/throughput.py", __doc__)
    p.add_argument(
        "--steps",
        type=int,
        default=8,
        help="timed steps per variant and round (a multiple of every steps_per_execution)",
    )
    p.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported")
    p.add_argument("--warmup", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--data", default="sample")
    p.add_argument(
        "--variants",
        nargs="*",
        default=["auto:1:0:builtin", "auto:1:0:fast", "auto:1:auto:auto"],
        help="precision:steps_per_execution:jit (0/1/auto)[:nets (fast/builtin/auto, default "
        "auto)]; auto is what a run here picks, so auto:1:auto:auto is the default training",
    )
    p.add_argument(
        "--backend",
        default=None,
        help="comma-separated Keras backends to time, each in its own process (default: this "
        "one, KERAS_BACKEND)",
    )
    args = p.parse_args()
    backends = args.backend.split(",") if args.backend else [keras.backend.backend()]
    if backends != [keras.backend.backend()]:
        for b in backends:  # each backend in a process of its own, the same flags
            print(f"== KERAS_BACKEND={b}", flush=True)
            given = sys.argv[1:]
            argv = [
                a
                for a, prev in zip(given, [None, *given])
                if not a.startswith("--backend") and prev != "--backend"
            ]
            env = {**os.environ, "KERAS_BACKEND": b}
            code = subprocess.call([sys.executable, __file__, *argv, "--backend", b], env=env)
            if code:
                sys.exit(code)
        return
    x, _, source = data.load(args.data, log=lambda m: None)
    gpus = tf.config.list_logical_devices("GPU")
    fp32_peak, bf16_peak, mhz = cpu_peak_gflops()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores at {mhz:.0f} MHz, "
        f"{'GPUs: ' + str(len(gpus)) if gpus else 'no GPU'}; TensorFlow {tf.__version__}, Keras "
        f"{keras.__version__}, backend {keras.backend.backend()}"
    )
    print(
        f"data: {source}; batch {args.batch_size}; median of {args.rounds} rounds of "
        f"{args.steps} steps "
        f"after {args.warmup} warm-up"
    )
    # The reference loop's trick (freeze D between two compiled models) needs TensorFlow's
    # trace-once train functions: JAX's train_on_batch gathers D's trainable variables at every
    # call, and the frozen D has none. On JAX the (b) rows compare with each other only.
    jax = keras.backend.backend() == "jax"
    runs = {}
    if not jax:
        runs["(a) reference loop (train_on_batch x2, scipy)"] = reference_loop(x, args.batch_size)
    g, d = next(iter(runs.values()))[1:] if runs else models.build_pair()
    runs = {k: v[0] for k, v in runs.items()}
    for v in args.variants:
        precision, spe, jit, nets = (v + ":auto").split(":")[:4]
        jit = {"0": False, "1": True}.get(jit, jit)
        cfg = Config(precision=precision, jit_compile=jit, nets=nets).resolved()
        name = (
            f"(b) fit: {cfg.nets}, {cfg.precision}, steps/exec {spe}"
            f"{', XLA' if cfg.jit_compile else ''}"
        )
        if name not in runs:  # on JAX, variants that differ in TensorFlow's settings only are one
            runs[name] = project(
                x, args.batch_size, cfg.precision, int(spe), cfg.jit_compile, cfg.nets
            )
    d_before = [np.array(w) for w in d.weights]
    for run in runs.values():  # warm-up: tracing, oneDNN primitive caches
        run(args.warmup)
    assert jax or any(not np.array_equal(a, np.array(b)) for a, b in zip(d_before, d.weights)), (
        "reference D did not train"
    )
    # This machine's speed drifts (shared host): variants take turns, each round, and the median
    # over rounds is reported.
    rates = {k: [] for k in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            rates[name].append(args.batch_size * args.steps / run(args.steps))
    flops = step_flops(g, d, args.batch_size) / args.batch_size  # per image
    print(
        f"counted work: {flops / 1e6:.1f} MFLOP per image per step; CPU peak ~{fp32_peak:.0f} "
        "GFLOP/s fp32, "
        f"~{bf16_peak:.0f} bf16"
    )
    print(
        f"{'variant':<52}{'images/s':>10}{'(min-max)':>12}{'x ref':>7}{'GFLOP/s':>9}{'% peak':>8}"
    )
    ref = float(np.median(next(iter(rates.values()))))  # the first row is 1.00
    for name, r in rates.items():
        ips = float(np.median(r))
        peak = bf16_peak if "bfloat16" in name else fp32_peak
        print(
            f"{name:<52}{ips:>10.0f}{f'({min(r):.0f}-{max(r):.0f})':>12}{ips / ref:>7.2f}"
            f"{ips * flops / 1e9:>9.1f}{100 * ips * flops / 1e9 / peak:>8.1f}"
        )


if __name__ == "__main__":
    from dcgan.cli import run_cli  # bad input: one line and exit 2, as the commands answer

    run_cli(lambda argv: main())
