"""How fast the generator draws digits, and how long `python -m dcgan.generate` takes from cold.

    python benchmarks/generate_speed.py                       # the shipped generator
    python benchmarks/generate_speed.py --model runs/X/generator.h5 --batch-sizes 64,256,1000

Throughput: `sampling.generate` making --n digits (10,000) at each batch size, after one warm-up
batch. Cold start: the median of --repeats fresh processes of `python -m dcgan.generate -n 64`,
beside `python -c "import keras; keras.models.load_model(PATH)"`, the floor any loader pays.
"""

import os
from pathlib import Path
import platform
import statistics
import subprocess
import sys
import tempfile
import time

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def load(model_arg, scratch):
    """(generator, description, path); an untrained net, saved in `scratch`, when none ships."""
    from dcgan import sampling
    from dcgan.files import resolve

    path = resolve("generator", model_arg)[0]
    if model_arg is None and not Path(path).exists():
        from dcgan.models import build_generator

        generator, untrained = build_generator(), Path(scratch) / "untrained_generator.h5"
        generator.save(untrained)
        return (
            generator,
            f"UNTRAINED build_generator() (no generator at {path}; same speed)",
            untrained,
        )
    return sampling.load_generator(path), str(path), path


def throughput(generator, n, batch_sizes):
    from dcgan import sampling

    sampling.generate(generator, min(batch_sizes), seed=0, batch_size=min(batch_sizes))  # warm-up
    rows = []
    for bs in batch_sizes:
        start = time.perf_counter()
        images = sampling.generate(generator, n, seed=0, batch_size=bs)
        seconds = time.perf_counter() - start
        assert images.shape == (n, 28, 28)
        rows.append((bs, seconds, n / seconds))
    return rows


def timed(cmd, env):
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}"
        )
    return seconds


def cold_start(model_path, repeats):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory() as tmp:
        cli = [
            sys.executable,
            "-m",
            "dcgan.generate",
            "-n",
            "64",
            "--seed",
            "0",
            "--out",
            str(Path(tmp) / "x.png"),
            "--model",
            str(model_path),
        ]
        floor = [
            sys.executable,
            "-c",
            f"import keras; keras.models.load_model({str(model_path)!r})",
        ]
        runs = {"generate": [], "floor": []}
        for _ in range(repeats):  # interleaved, so a busy spell hits both alike
            runs["generate"].append(timed(cli, env))
            runs["floor"].append(timed(floor, env))
    return {k: (statistics.median(v), v) for k, v in runs.items()}


def main(argv=None):
    from dcgan.cli import CliParser

    p = CliParser("python benchmarks/generate_speed.py", __doc__)
    p.add_argument(
        "--model",
        default=None,
        help="generator .h5/.keras/SavedModel folder (default: $DCGAN_GENERATOR, else "
        "saved_models/generator/generator.h5; an untrained net if that is missing)",
    )
    p.add_argument("--n", type=int, default=10_000, help="digits per throughput measurement")
    p.add_argument("--batch-sizes", default="64,256,1000", help="comma-separated batch sizes")
    p.add_argument(
        "--repeats", type=int, default=3, help="cold-start runs of each command (median)"
    )
    args = p.parse_args(argv)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]

    from dcgan.cli import quiet_tensorflow

    quiet_tensorflow()
    import keras
    import tensorflow as tf

    scratch = tempfile.TemporaryDirectory()
    generator, what, path = load(args.model, scratch.name)
    devices = ", ".join(d.device_type for d in tf.config.list_logical_devices()) or "?"
    print(f"model: {what}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, TF devices: {devices}; "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, Python "
        f"{platform.python_version()}"
    )
    print(f"\nthroughput: sampling.generate of {args.n:,} digits (uint8), one run per batch size")
    print(f"  {'batch':>6}  {'seconds':>8}  {'images/s':>9}")
    for bs, seconds, rate in throughput(generator, args.n, batch_sizes):
        print(f"  {bs:>6}  {seconds:>8.2f}  {rate:>9,.0f}")

    print(f"\ncold start: median of {args.repeats} fresh processes each")
    res = cold_start(path, args.repeats)
    gen, floor = res["generate"][0], res["floor"][0]
    fmt = lambda v: ", ".join(f"{s:.2f}" for s in v)
    print(
        f"  python -m dcgan.generate -n 64 --out x.png  {gen:6.2f} s   (runs: "
        f"{fmt(res['generate'][1])})"
    )
    print(
        f"  import keras; load_model (the floor)        {floor:6.2f} s   (runs: "
        f"{fmt(res['floor'][1])})"
    )
    print(f"  generate's own cost over the floor          {gen - floor:6.2f} s")
    scratch.cleanup()


if __name__ == "__main__":
    from dcgan.cli import run_cli  # bad input: one line and exit 2, as the commands answer

    run_cli(main)
