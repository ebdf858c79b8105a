"""Every setting of a training run, declared once: its default, its bounds and its `--help`.

`Config` is what the library takes; `python -m dcgan.train` builds its flags from the same
fields (`add_flags`), so a setting, its default and its help are written in one place. Imports
nothing heavy: the command lines check their flags here before TensorFlow loads.

    from dcgan.training import Config, run       # Config is this module's
    run(Config(epochs=5, data="sample", batch_size=64))
"""

import argparse
import dataclasses
from pathlib import Path

from dcgan import datasets
from dcgan.files import ENV

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
ARCHS = ("dcgan", "mlp")
NOISE_KINDS = ("truncated", "normal", "uniform")
TARGET_KINDS = ("soft", "hard")
# What trains: the nets' fast twins or the built-in nets (every saved file is the built-in net
# either way); auto picks the twins unless XLA compiles the step, which fuses the same ops itself.
NETS = ("auto", "fast", "builtin")
IMAGE_SIZES = (28, 32, 64)
CHANNELS = (1, 3)
JIT_FLAG = {"auto": "auto", "on": True, "off": False}  # --jit-compile -> Config.jit_compile
# The hyperparameters of each --recipe, filled into the fields left unset. "reference": the
# reference script's (its batch, Adam 2e-4 / 0.5 for both nets), with the project's EMA of G;
# "fast": what the quality-per-minute study measured best on a CPU (docs/speed.md). Both keep the
# card's recipe: the nets, the stacked model with frozen D, truncated-normal noise, soft targets.
RECIPES = {
    "reference": dict(batch_size=256, lr=2e-4, beta1=0.5, beta2=0.999, ema=0.999, ema_warmup=10.0),
    "fast": dict(batch_size=32, lr=4e-4, beta1=0.5, beta2=0.999, ema=0.999, ema_warmup=10.0),
}
DEFAULT_RECIPE = "reference"


def recipe_help(name, what, show=str):
    """A recipe field's --help: what it is and each recipe's value."""
    values = ", ".join(f"{show(RECIPES[r][name])} {r}" for r in RECIPES)
    return f"{what} (default: the --recipe's: {values})"


# The vanilla MLP GAN of the reference script trains with its own recipe.
ARCH_DEFAULTS = {
    "dcgan": dict(targets="soft", noise="truncated"),  # its lr is the --recipe's
    "mlp": dict(lr=1e-4, targets="hard", noise="uniform"),
}

# Help texts more than one command line shows.
MODEL_HELP = (
    "generator .h5 or .keras, or a SavedModel folder (runs the graph it holds: only one you trust)"
)
DATA_HELP = "mnist, fashion_mnist, sample, a Keras-format .npz or a folder of IDX files"
DATA_DEFAULT = f"(default: ${ENV['data']}, else Keras's MNIST, else the bundled sample)"


def setting(
    default,
    help,
    flag=None,
    resume=False,
    values=None,
    low=None,
    high=None,
    open=(False, False),
    optional=False,
    **argparse,
):
    """A Config field with what its flag needs: `help` ("{default}" is filled in), the flag's
    names (default: --the-field-name), whether --resume may change it, and any other argparse
    keyword; and what `check_field` holds its value to: one of `values`, or a number of the
    field's type from `low` to `high` (`open`: whether each end is excluded; `optional`: None
    allowed too). The bounds keep every run buildable on one machine and inside what
    TensorFlow's seeds and shapes take."""
    meta = dict(help=help, flag=flag, resume=resume, argparse=argparse, values=values)
    meta.update(low=low, high=high, open=open, optional=optional)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass
class Config:
    """Every setting of a run; `python -m dcgan.train --help` says what each one does.
    `targets` is the kind of real/fake targets D and G are trained towards (the reference script
    calls them labels, as in "soft labels"); the digits a conditional GAN draws are `digits`."""

    epochs: int = setting(
        1,
        "total epochs, full passes over the training data (default: {default})",
        resume=True,
        low=1,
        high=1_000_000,
    )
    recipe: str = setting(
        DEFAULT_RECIPE,
        "the hyperparameters left unset: reference (the reference script's: batch 256, Adam "
        "2e-4 / 0.5) or fast (batch 32, Adam 4e-4: more quality per CPU minute, docs/speed.md) "
        "(default: {default})",
        values=tuple(RECIPES),
    )
    batch_size: int = setting(
        None,
        recipe_help(
            "batch_size",
            "global batch: D sees half real and half generated, G a full batch of noise",
        ),
        low=2,
        high=65_536,
    )
    latent_dim: int = setting(
        100, "size of the noise vector (default: {default})", low=1, high=4_096
    )
    lr: float = setting(
        None,
        recipe_help("lr", "Adam learning rate", lambda v: f"{v:.0e}".replace("e-0", "e-"))[:-1]
        + "; 1e-4 mlp)",
        low=0.0,
        high=float("inf"),
        open=(True, True),
    )
    d_lr: float = setting(
        None,
        "D's Adam learning rate, when it differs from G's (default: --lr for both)",
        low=0.0,
        high=float("inf"),
        open=(True, True),
    )
    beta1: float = setting(
        None, recipe_help("beta1", "Adam beta_1"), low=0.0, high=1.0, open=(False, True)
    )
    beta2: float = setting(
        None, recipe_help("beta2", "Adam beta_2"), low=0.0, high=1.0, open=(False, True)
    )
    targets: str = setting(
        None,
        "real/fake targets: soft (real 0.7-1.2, fake 0.0-0.3) or hard (default: soft dcgan, "
        "hard mlp)",
        flag=("--targets", "--labels"),
        values=TARGET_KINDS,
    )
    noise: str = setting(
        None,
        "latents: normal cut to [-1, 1], normal or uniform (default: truncated dcgan, uniform mlp)",
        values=NOISE_KINDS,
    )
    arch: str = setting(
        "dcgan",
        "the reference conv nets, or the vanilla MLP GAN (default: {default})",
        values=ARCHS,
    )
    image_size: int = setting(
        28,
        "side of the square images the nets take and draw: 28 (the reference's nets), 32 or 64 "
        "(one more stride-2 block per doubling); data of another size is resized "
        "(default: {default})",
        values=IMAGE_SIZES,
    )
    channels: int = setting(
        1,
        "1 (greyscale) or 3 (colour); data is converted to it (default: {default})",
        values=CHANNELS,
    )
    conditional: bool = setting(
        False,
        "class-conditional GAN: G and D also take the digit, and G draws the digit it is asked for",
        action="store_true",
    )
    # keras.utils.set_random_seed's range
    seed: int = setting(
        0,
        "seed for noise, targets, shuffling and weights (default: {default})",
        low=0,
        high=2**32 - 1,
    )
    steps_per_epoch: int = setting(
        None, "cap on steps per epoch, for quick runs", low=1, high=10**9, optional=True
    )
    save_every: int = setting(
        5, "epochs between checkpoints (default: {default})", low=1, high=1_000_000
    )
    sample_every: int = setting(
        1, "epochs between sample grids (default: {default})", low=1, high=1_000_000
    )
    log_every: int = setting(
        50,
        "steps between TensorBoard points, beside one per epoch (default: {default})",
        resume=True,
        low=1,
        high=1_000_000,
    )
    data: str = setting(
        None,
        f"{DATA_HELP}, or a folder of images (PNG, JPEG, BMP, GIF of any size; subfolders are "
        f"classes) {DATA_DEFAULT}",
        resume=True,
    )
    out: str = setting(None, "run directory (default: runs/<timestamp>)")
    precision: str = setting(
        "auto",
        "auto: mixed_bfloat16 on CPUs and GPUs with bf16 math, mixed_float16 on older GPUs, "
        "else float32 (default: {default})",
        values=PRECISIONS,
    )
    # The EMA generator scored better than the raw one at every epoch of every run measured
    # (FID 61 vs 67 after one epoch, 27 vs 28 after two; docs/training.md).
    ema: float = setting(
        None,
        recipe_help(
            "ema",
            "also keep an EMA of G's weights with this decay, saved as generator_ema.h5 and "
            "scored by --eval-every; 0 turns it off",
        ),
        low=0.0,
        high=1.0,
        open=(True, True),
        optional=True,
    )
    ema_warmup: float = setting(
        None,
        recipe_help(
            "ema_warmup",
            "the EMA's warm-up: its decay is min(--ema, (1 + t) / (this + t)) after t steps of "
            "G, so the average forgets the first weights quickly",
            lambda v: f"{v:g}",
        ),
        low=1.0,  # 1: no warm-up
        high=10**9,
    )
    steps_per_execution: int = setting(
        1, "train steps per graph call (default: {default})", low=1, high=10_000
    )
    jit_compile: bool | str = setting(
        "auto",
        "compile the train step with XLA; auto: on for float32 on a CPU, where it measured "
        "~1.7x faster, off elsewhere; always on under JAX (default: auto; the flag alone means on)",
        resume=True,
        nargs="?",
        const="on",
        choices=JIT_FLAG,
        values=tuple(JIT_FLAG.values()),
    )
    eval_every: int = setting(
        None,
        "epochs between FID checks (logs fid, keeps generator_best.h5; uses "
        f"${ENV['classifier']} or the shipped classifier)",
        low=1,
        high=1_000_000,
        optional=True,
    )
    eval_samples: int = setting(
        2000,
        "digits generated for each FID check (default: {default})",
        low=50,  # FID of fewer digits is noise
        high=100_000,
    )
    nets: str = setting(
        "auto",
        "fast: train the nets' faster twins (fused batch norm, no bias before it, a "
        "cheaper dropout mask), saved as the built-in-layer nets; builtin: train those "
        "directly, as runs from before this flag did, and always under JAX; auto: fast unless XLA "
        "compiles the step (default: {default})",
        values=NETS,
    )
    minutes: float = setting(
        None,
        "end the run at the first epoch boundary after this many minutes of training, every "
        "final file written (--epochs still caps it)",
        resume=True,
        low=0.0,
        high=10**7,
        open=(True, False),
        optional=True,
    )

    @property
    def image_shape(self):
        """(side, side, channels) of the images the nets take and draw."""
        return (self.image_size, self.image_size, self.channels)

    def resolved(self):
        """A copy with the arch-dependent defaults and the precision filled in, every value
        checked. Raises ValueError naming the flag and what to pass instead."""
        from dcgan.distribute import backend, best_jit, best_precision

        c = self.checked()
        if backend() == "jax":  # JAX compiles every step; the fast twins are TensorFlow kernels
            c.jit_compile, c.nets = True, "builtin"
        if c.precision == "auto":
            c.precision = best_precision()
        if c.jit_compile == "auto":
            c.jit_compile = best_jit(c.precision)
        if c.nets == "auto":
            c.nets = "builtin" if c.jit_compile else "fast"
        return c

    def checked(self):
        """A copy with the arch-dependent defaults filled in and every value checked, type and
        bounds (without importing TensorFlow: the command line calls this before it loads).
        Raises ValueError naming the flag."""
        c = dataclasses.replace(self)
        check_field("recipe", c.recipe)
        # What is given wins, then the arch's own recipe (the MLP's), then the --recipe's.
        for k, v in {**RECIPES[c.recipe], **ARCH_DEFAULTS.get(c.arch, {})}.items():
            if getattr(c, k) is None:
                setattr(c, k, v)
        if c.ema == 0:  # --ema 0: no EMA generator
            c.ema = None
        if c.d_lr is None:
            c.d_lr = c.lr
        for f in dataclasses.fields(c):
            check_field(f.name, getattr(c, f.name))
        if c.batch_size % 2:
            raise ValueError(
                f"--batch-size {c.batch_size} must be even (half real, half generated)"
            )
        if c.conditional and c.arch != "dcgan":
            raise ValueError(
                f"--conditional works with --arch dcgan, not {c.arch}: drop one of them"
            )
        return c

    @classmethod
    def of_run(cls, run_dir):
        """The checked Config a run directory was trained with (its config.json). Raises
        ValueError for a folder without one, or one that is malformed or edited out of bounds."""
        path = Path(run_dir) / "config.json"
        try:
            saved = datasets.read_run_file(path)
        except (OSError, ValueError):
            raise ValueError(
                f"{run_dir} is not a run directory (no readable config.json): "
                "pass --resume a folder written by dcgan.train"
            ) from None
        if not isinstance(saved, dict):
            raise ValueError(f"{path} is not a dcgan run's config (not a JSON object): restore it")
        fields = {f.name for f in dataclasses.fields(cls)}
        # Runs from before the fast twins trained builtin; before `targets`, it was `labels`.
        saved = {"nets": "builtin", "targets": saved.get("labels"), **saved}
        if "ema" in saved and saved["ema"] is None:  # a run without an EMA, not the recipe's
            saved["ema"] = 0
        try:
            return cls(**{k: v for k, v in saved.items() if k in fields}).checked()
        except ValueError as e:
            raise ValueError(f"{path} does not hold a usable config ({e}): restore it") from None


# Every setting, by name: its dataclass field, whose metadata holds its bounds (`setting`).
FIELDS = {f.name: f for f in dataclasses.fields(Config)}
MAX_EPOCHS = FIELDS["epochs"].metadata["high"]


def flag(name):
    return "--" + name.replace("_", "-")


def check_field(name, value):
    """ValueError naming the flag unless `value` is one that setting `name` takes."""
    meta = FIELDS[name].metadata
    if meta["values"]:
        choices = meta["values"]
        # `is`: True == 1 in Python, and a config.json's 1 is not a choice of --jit-compile.
        if not any(value is c or value == c and type(value) is type(c) for c in choices):
            raise ValueError(f"{flag(name)} {value!r} is not one of {', '.join(map(str, choices))}")
    elif meta["low"] is not None:
        kind, low, high = FIELDS[name].type, meta["low"], meta["high"]
        if value is None and meta["optional"]:
            return
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or (kind is int and not isinstance(value, int)) or value != value:
            what = "a whole number" if kind is int else "a number"
            raise ValueError(f"{flag(name)} must be {what}, got {value!r}")
        low_open, high_open = meta["open"]
        if value < low or (low_open and value == low):
            bound = f"greater than {low:g}" if low_open else f"at least {low:g}"
            raise ValueError(f"{flag(name)} must be {bound}, got {value!r}")
        if value > high or (high_open and value == high):
            bound = f"less than {high:g}" if high_open else f"at most {high:,}"
            bound = "finite" if high == float("inf") else bound
            raise ValueError(f"{flag(name)} must be {bound}, got {value!r}")
    elif name == "conditional":
        if not isinstance(value, bool):
            raise ValueError(f"{flag(name)} must be true or false, got {value!r}")
    elif value is not None and not isinstance(value, str):  # data, out
        raise ValueError(f"{flag(name)} must be a path, got {value!r}")


def add_flags(parser):
    """One flag per Config field. Every default is None, so that `config_from_flags` can tell a
    flag given from one left out (a resumed run keeps its saved value unless the flag is given)."""
    for f in dataclasses.fields(Config):
        meta = f.metadata
        kwargs = dict(default=None, help=meta["help"].format(default=f.default))
        if meta["values"] and "choices" not in meta["argparse"]:
            kwargs["choices"] = meta["values"]
            kinds = {type(c) for c in meta["values"]}
            if kinds == {int}:
                kwargs["type"] = int
        elif meta["low"] is not None:
            kwargs["type"] = f.type
        kwargs.update(meta["argparse"])
        names = meta["flag"] or (flag(f.name),)
        if len(names) > 1:  # one setting, several names: two of them at once is a mistake
            kwargs["action"] = _OneName
        parser.add_argument(*names, dest=f.name, **kwargs)


class _OneName(argparse.Action):
    """A flag with other names (--targets, its old name --labels): given under two of them, the
    last would win silently, so the parser refuses it."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = getattr(namespace, "_names_given", {})
        first = given.setdefault(self.dest, option_string)
        if first != option_string:
            parser.error(f"{first} and {option_string} are the same setting: pass only one")
        namespace._names_given = given
        setattr(namespace, self.dest, values)


RESUMABLE = {f.name for f in dataclasses.fields(Config) if f.metadata["resume"]}


def config_from_flags(args, resume=None):
    """The Config the flags parsed into `args` ask for (a flag left out is None there): a new
    run's, or, with `resume`, the saved one of that run with only the flags given that a resumed
    run may change (RESUMABLE; any other raises ValueError naming it)."""
    chosen = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(Config)
        if getattr(args, f.name) is not None
    }
    if "jit_compile" in chosen:
        chosen["jit_compile"] = JIT_FLAG[chosen["jit_compile"]]
    if not resume:
        return Config(**chosen).checked()
    changed = sorted(set(chosen) - RESUMABLE)
    if changed:
        names = ", ".join(map(flag, changed))
        allowed = ", ".join(flag(f.name) for f in dataclasses.fields(Config) if f.name in RESUMABLE)
        raise ValueError(
            f"{names} would change the run that --resume continues, which keeps the settings in "
            f"its config.json: drop {names}, or start a new run (--resume takes {allowed}, "
            "--new-data)"
        )
    cfg = dataclasses.replace(Config.of_run(resume), **chosen)
    cfg.minutes = chosen.get("minutes")  # a limit on this session of training, not the run's
    return cfg.checked()
