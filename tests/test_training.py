"""The training library: configs checked before anything runs, and a run folder that says what
it is."""

import dataclasses
import json

import keras
import pytest

from dcgan import runs, training
from dcgan.training import Config

# Runs under both CPU precision paths in CI ($DCGAN_AUTO_PRECISION pins `auto`'s pick).
pytestmark = pytest.mark.precision


def test_checked_fills_the_recipe_of_each_arch():
    cfg = Config().checked()
    assert (cfg.lr, cfg.d_lr, cfg.beta1, cfg.targets) == (2e-4, 2e-4, 0.5, "soft")
    mlp = Config(arch="mlp").checked()
    assert (mlp.lr, mlp.targets, mlp.noise) == (1e-4, "hard", "uniform")
    assert Config(lr=1e-3).checked().lr == 1e-3


@pytest.mark.parametrize(
    "change, words",
    [
        (dict(epochs=0), "--epochs must be at least 1"),
        (dict(batch_size=7), "must be even"),
        (dict(noise="pink"), "--noise 'pink'"),
        (dict(conditional=True, arch="mlp"), "--conditional"),
        (dict(eval_samples=0), "--eval-samples"),
        (dict(ema=1.0), "--ema"),
    ],
)
def test_bad_settings_are_refused_by_name(change, words):
    with pytest.raises(ValueError, match=words):
        Config(**change).checked()


@pytest.mark.parametrize(
    "cpu_flags, pick",
    [
        ("fpu sse4_2 avx2 fma avx512f", "float32"),  # AVX-512 without bf16 math
        ("avx2 avx512f avx512_bf16", "mixed_bfloat16"),
        ("avx2 amx_bf16 amx_tile", "mixed_bfloat16"),
    ],
)
def test_auto_precision_on_a_cpu_is_bf16_where_it_does_bf16_math(cpu_flags, pick, monkeypatch):
    """Nothing pinned, no GPU: `auto` is mixed_bfloat16 on a CPU with bf16 instructions
    (AVX512_BF16 or AMX), float32 on any other (docs/speed.md), read from /proc/cpuinfo."""
    import builtins
    import io

    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("the CPU rule")
    monkeypatch.delenv("DCGAN_AUTO_PRECISION", raising=False)
    real_open = builtins.open

    def cpuinfo(path, *args, **kwargs):
        if str(path) == "/proc/cpuinfo":
            return io.StringIO(f"processor\t: 0\nflags\t\t: {cpu_flags}\n")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", cpuinfo)
    assert Config().resolved().precision == pick


def test_auto_precision_can_be_pinned(monkeypatch):
    """$DCGAN_AUTO_PRECISION is what `auto` picks (CI runs the precision-sensitive tests under
    both CPU paths on any host); a wrong value is an error naming the variable."""
    for pick in ("float32", "mixed_bfloat16"):
        monkeypatch.setenv("DCGAN_AUTO_PRECISION", pick)
        assert Config().resolved().precision == pick
        assert Config(precision="float32").resolved().precision == "float32"  # a flag wins
    monkeypatch.setenv("DCGAN_AUTO_PRECISION", "bf16")
    with pytest.raises(ValueError, match="DCGAN_AUTO_PRECISION='bf16' is not one of"):
        Config().resolved()


def test_auto_picks_xla_and_the_nets_that_pay(monkeypatch):
    import tensorflow as tf

    monkeypatch.delenv("TF_CONFIG", raising=False)
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("the CPU rule")
    on_cpu = Config(precision="float32").resolved()
    assert (on_cpu.jit_compile, on_cpu.nets) == (True, "builtin")  # XLA fuses what twins would
    no_xla = Config(precision="float32", jit_compile=False).resolved()
    assert no_xla.nets == "fast"
    bf16 = Config(precision="mixed_bfloat16").resolved()
    assert (bf16.jit_compile, bf16.nets) == (False, "fast")  # XLA measured slower in bf16
    cluster = {"worker": ["localhost:1", "localhost:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker"}}))
    assert Config(precision="float32").resolved().jit_compile is False  # not measured


def test_runs_from_before_the_twins_resume_with_builtin_nets(tmp_path):
    saved = dataclasses.asdict(Config(epochs=2, data="sample"))
    del saved["nets"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert Config.of_run(tmp_path).nets == "builtin"
    (tmp_path / "config.json").write_text(json.dumps({**saved, "nets": "fast"}))
    assert Config.of_run(tmp_path).nets == "fast"


def test_ema_is_on_unless_turned_off(tmp_path):
    assert Config().checked().ema == 0.999
    assert Config(ema=0).checked().ema is None
    # A run saved without an EMA resumes without one, whatever its recipe would fill in.
    (tmp_path / "config.json").write_text(json.dumps({"ema": None, "epochs": 2}))
    assert Config.of_run(tmp_path).ema is None


def test_recipe_reference_is_the_reference_scripts_hyperparameters():
    import tensorflow as tf

    from dcgan import train
    from dcgan.settings import config_from_flags

    cfg = config_from_flags(train.parser().parse_args(["--recipe", "reference"]))
    assert cfg == Config().checked()  # the default, until the study's new one wins
    assert (cfg.batch_size, cfg.lr, cfg.d_lr, cfg.beta1, cfg.beta2) == (256, 2e-4, 2e-4, 0.5, 0.999)
    assert (cfg.noise, cfg.targets, cfg.ema, cfg.ema_warmup) == ("truncated", "soft", 0.999, 10)
    gan = training.build(
        dataclasses.replace(cfg.resolved(), precision="float32"), tf.distribute.get_strategy()
    )
    for opt in (gan.d_optimizer, gan.g_optimizer):
        assert float(opt.learning_rate) == pytest.approx(2e-4)
        assert (opt.beta_1, opt.beta_2) == (0.5, 0.999)
    assert gan.ema.decay == 0.999 and gan.ema.warmup == 10


def test_a_recipe_fills_only_what_is_not_given():
    fast = Config(recipe="fast").checked()
    assert (fast.batch_size, fast.lr, fast.d_lr) == (32, 4e-4, 4e-4)
    assert Config(recipe="fast", batch_size=128, lr=1e-3).checked().batch_size == 128
    assert Config(recipe="fast", lr=1e-3).checked().d_lr == 1e-3  # D's follows G's unless given
    assert Config(arch="mlp", recipe="fast").checked().lr == 1e-4  # the MLP keeps its own
    with pytest.raises(ValueError, match="--recipe"):
        Config(recipe="quick").checked()


def test_resume_may_switch_xla_but_not_the_nets(tmp_path):
    from dcgan import train
    from dcgan.settings import config_from_flags

    (tmp_path / "config.json").write_text(json.dumps(dataclasses.asdict(Config(data="sample"))))
    args = train.parser().parse_args(["--resume", str(tmp_path), "--jit-compile", "off"])
    assert config_from_flags(args, args.resume).jit_compile is False
    args = train.parser().parse_args(["--resume", str(tmp_path), "--nets", "fast"])
    with pytest.raises(ValueError, match="--nets would change the run"):
        config_from_flags(args, args.resume)


@pytest.mark.slow
def test_of_run_reads_the_saved_config(trained_run, tmp_path):
    cfg = Config.of_run(trained_run)
    assert (cfg.epochs, cfg.ema, cfg.eval_every) == (2, 0.9, 1)
    with pytest.raises(ValueError, match="not a run directory"):
        Config.of_run(tmp_path)


@pytest.mark.slow
def test_a_run_folder_explains_itself(trained_run):
    config = json.loads((trained_run / "config.json").read_text())
    assert config["command"].startswith("python -m dcgan.train --epochs 2")
    assert config["steps_per_epoch"] == 3 and config["data_source"] == "bundled MNIST sample"
    summary = (trained_run / "summary.txt").read_text()
    for words in (
        "run directory",
        str(trained_run),
        "bundled MNIST sample",
        "precision",
        "1,705,601 parameters",
        "1,558,017 parameters",
    ):
        assert words in summary, words
    stdout = (trained_run / "stdout.txt").read_text()
    assert summary in stdout  # the start banner
    # The banner counts what is saved, whatever trained (the twins have no bias before BN).
    saved = keras.models.load_model(trained_run / "generator.h5")
    assert f"{saved.count_params():,} parameters" in summary
    # The end: scores, wall time, the file to use next; a plain line per epoch off a terminal.
    assert "epoch 2: d_acc" in stdout and "min of wall time" in stdout, stdout
    assert f"--model {trained_run / 'generator_ema.h5'}" in stdout
    assert "\r" not in stdout and "\x1b" not in stdout
    assert stdout.count("3/3 - ") == 2


@pytest.mark.slow
def test_saved_nets_compute_in_float32(trained_run):
    """Whatever the run trained in (mixed_bfloat16 on a bf16 CPU), what it saves is float32:
    plain-Keras inference in bf16 is ~10x slower on a CPU without bf16 math."""
    for name in ("generator.h5", "generator_ema.h5", "generator.keras", "discriminator.h5"):
        model = keras.models.load_model(trained_run / name)
        policies = {layer.dtype_policy.name for layer in model.layers}
        assert policies == {"float32"}, (name, policies)


@pytest.mark.slow
def test_make_run_dir_never_reuses_a_run(trained_run):
    with pytest.raises(ValueError, match="already holds a run: continue it with --resume"):
        runs.make_run_dir(trained_run)


def test_steps_per_epoch_is_a_full_pass_or_the_cap():
    assert training.steps_per_epoch(Config(batch_size=256), 60000) == 468
    assert training.steps_per_epoch(Config(batch_size=256, steps_per_epoch=5), 60000) == 5


@pytest.mark.parametrize(
    "cap, said", [(100, True), (32, True), (31, False), (5, False), (None, False)]
)
def test_a_cap_beyond_the_epoch_is_said_once(cap, said):
    notes = []
    steps = training.steps_per_epoch(
        Config(batch_size=256, steps_per_epoch=cap), 4000, notes.append
    )
    assert steps == min(cap or 31, 31)  # the bundled sample: 4,000 images, 128 a step
    assert len(notes) == int(said)
    if said:
        assert f"--steps-per-epoch {cap} is more than an epoch holds" in notes[0]
        assert "is 31 steps" in notes[0] and "\n" not in notes[0]


def test_minutes_ends_at_an_epoch_boundary_with_every_final_file(tmp_path):
    cfg = Config(
        arch="mlp",
        epochs=5,
        steps_per_epoch=1,
        batch_size=32,
        data="sample",
        minutes=1e-6,
        out=str(tmp_path / "run"),
    )
    run_dir = training.run(cfg, verbose=0, log=lambda m: None)
    rows = (run_dir / "history.csv").read_text().splitlines()
    assert len(rows) == 2, "one epoch, then the time was up"
    for name in ("generator.h5", "generator.keras", "discriminator.h5", "generator_ema.h5"):
        assert (run_dir / name).exists(), name
    assert json.loads((run_dir / "config.json").read_text())["minutes"] == 1e-6
