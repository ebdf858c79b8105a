"""What the demo page (`python -m dcgan.demo`) draws, and what it takes as input: the generators
it offers (`Models`: the shipped digits, the shipped clothes, the ones given with `--model` /
`--conditional-model`), loaded once, and the seeds and classes a visitor types or picks, checked
so that anything else is one line in the page, never a traceback.
"""

import decimal
import math
import numbers
import re
import time

import numpy as np

from dcgan import datasets, files
from dcgan.cli import UsageError
from dcgan.noise import SEED_MAX

GRID = 8  # the grid is GRID x GRID images
WALK_STEPS = 10  # images in the latent walk, both ends included
SCALE = 2  # each pixel of a 28-pixel image is shown as SCALE x SCALE
ANY = "any"
STYLES = 10  # classes in the style row, spread over a generator's classes when it has more
DIGIT_NAMES = [str(d) for d in range(10)]
CHOICES = [ANY, *DIGIT_NAMES]  # the shipped digits' choices
MOST_LISTED = 20  # class names a message lists before "...": a folder may have a thousand
# The page's "Draw" choice: the shipped generators by what they draw, and those given to it.
DIGITS, CLOTHES, YOURS = "Digits", "Clothes", "Your models"
# What each kind of image is called in the page; a run of your own draws "images".
NOUNS = {datasets.MNIST: "digits", datasets.FASHION: "clothes"}


# A seed as typed: digits, maybe a fraction or an exponent ("12", "3.5", "1e3"); not "0x10" or
# "1_000", which Python would read but a person would not type as a seed.
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
NAMED = {"nan": "not a number", "inf": "outside", "infinity": "outside"}  # float()'s words
LONGEST = 40  # characters of a bad value the message shows


def shown(value):
    """`value` as the page's message names it: repr, on one line, at most LONGEST characters,
    whatever its type or size (repr of an int of 5,000 digits raises; this does not)."""
    if isinstance(value, str) and (
        NUMBER.fullmatch(value.strip()) or value.strip().lstrip("+-").lower() in NAMED
    ):
        value = value.strip()  # a number as typed: 3.5, not '3.5'
        return value if len(value) <= LONGEST else value[: LONGEST - 3] + "..."
    try:
        text = repr(value)
    except Exception:  # an int too long for str()
        text = f"a number of {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    text = " ".join(text.split())
    return text if len(text) <= LONGEST else text[: LONGEST - 3] + "..."


def as_decimal(value):
    """`value` as an exact Decimal, or why it is not a seed: "nothing", "not a number", "outside"
    (an infinity, a number too large for Decimal) or "not whole" (a fraction too small for it)."""
    if value is None or isinstance(value, bool):  # True is 1 to Python, not a seed to a person
        return "nothing" if value is None else "not a number"
    if isinstance(value, numbers.Integral):
        value = int(value)  # Decimal(int) goes through str: 4,300 digits at most
        return decimal.Decimal(value) if value.bit_length() < 64 else "outside"
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return "not a number"
        return decimal.Decimal(value) if math.isfinite(value) else "outside"
    if not isinstance(value, str):  # a list, a dict, ...
        return "not a number"
    text = value.strip()
    if not text:
        return "nothing"
    named = NAMED.get(text.lstrip("+-").lower())
    if named:
        return named
    match = NUMBER.fullmatch(text)
    if not match:
        return "not a number"
    try:
        return decimal.Decimal(text)
    except decimal.InvalidOperation:  # an exponent past Decimal's limits: 1e-99999999999999999
        if not match.group(1).strip("0."):
            return decimal.Decimal(0)  # zero, whatever its exponent
        return "not whole" if "-" in match.group(2) else "outside"


def check_seed(seed, name="seed"):
    """The seed as an int, or ValueError saying which seeds the page takes, whatever `seed` is
    (a number, a string as typed, None, a list...). A fraction (3.5) is an error, not rounded:
    the same seed must always mean the same images."""
    value = as_decimal(seed)
    if isinstance(value, decimal.Decimal):
        if not 0 <= value <= SEED_MAX:
            value = "outside"
        elif value != value.to_integral_value():
            value = "not whole"
        else:
            return int(value)
    if value == "nothing":
        raise ValueError(f"{name} is empty: type a whole number from 0 to {SEED_MAX:,}")
    problem = {
        "not a number": "is not a number",
        "outside": "is outside the seeds this page takes",
        "not whole": "is not a whole number",
    }[value]
    raise ValueError(f"{name} {shown(seed)} {problem}: type a whole number from 0 to {SEED_MAX:,}")


def listed(names):
    """Class names as a message lists them: 0-9 for the digits, else the first MOST_LISTED."""
    names = list(names)
    if names == DIGIT_NAMES:
        return "0-9"
    more = ", ..." if len(names) > MOST_LISTED else ""
    return ", ".join(names[:MOST_LISTED]) + more


def check_choice(choice, choices=CHOICES):
    """'any' -> None, one of `choices` (in any case: '0'..'9', or a conditional generator's
    class names) -> its class; ValueError otherwise, whatever `choice` is."""
    text = choice.strip().casefold() if isinstance(choice, str) else None
    folded = [c.casefold() for c in choices]
    if text not in folded:
        classes = [c for c in choices if c != ANY]
        word = "digit" if classes == DIGIT_NAMES else "class"
        either = f"{listed(classes)}, or {ANY}" if ANY in choices else listed(classes)
        raise ValueError(f"{word} {shown(choice)}: pick one of {either}")
    if text == ANY and ANY in choices:
        return None
    return folded.index(text) - (ANY in choices)


def upscale(image, scale=SCALE):
    """Each pixel of a (h, w) or colour (h, w, 3) image as scale x scale."""
    return image.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else image


def scale_for(side):
    """How much a grid of images of `side` pixels is upscaled: SCALE for MNIST's 28, so that
    every size shows about as large (32: 2, 64: 1)."""
    return max(1, round(SCALE * 28 / side))


def grid_side(side=28):
    """The width in the page of the GRID x GRID grid of images of `side` pixels, as shown."""
    return scale_for(side) * (GRID * (side + 2) + 2)  # images.grid's padding: 2 pixels


def float32_copy(generator):
    """The generator computing in float32: a model trained under mixed_bfloat16 keeps that policy
    when saved, and bfloat16 convolutions run about ten times slower on a CPU without bf16 math.
    The weights are the same (float32 either way); the images differ by a grey level or so."""
    import keras

    layers = getattr(generator, "layers", None)
    if layers is None or all(layer.dtype_policy.name == "float32" for layer in layers):
        return generator  # a SavedModel, or already float32

    def as_float32(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    copy = keras.models.clone_model(generator, clone_function=as_float32)
    copy.set_weights(generator.get_weights())
    return copy


class Compiled:
    """A Keras generator whose calls run as one XLA-compiled graph per batch size: about twice as
    fast on a CPU as Keras's eager call, with the same images. Has what `sampling` uses of a
    model (`input_shape`, `output_shape`, calling it)."""

    def __init__(self, model):
        import tensorflow as tf

        self.model, self.input_shape, self.output_shape = (
            model,
            model.input_shape,
            model.output_shape,
        )
        self.layers = model.layers  # what `sampling.num_classes` reads
        self._fn = tf.function(lambda inputs: model(inputs, training=False), jit_compile=True)
        self._errors = (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError)

    @classmethod
    def wrap(cls, generator):
        return cls(generator) if hasattr(generator, "layers") else generator  # not a SavedModel

    def __call__(self, inputs, training=False):
        if self._fn is not None:
            try:
                return self._fn(inputs)
            except self._errors:  # an op XLA cannot compile: eager from now on
                self._fn = None
        return self.model(inputs, training=False)


def dataset_of(names):
    """The dataset whose classes `names` are (MNIST, FASHION), or None: told by the names a run's
    settings give its classes, never by a file's name."""
    for k, known in datasets.CLASS_NAMES.items():
        if names is not None and tuple(names) == known:
            return k
    return None


class Models:
    """One entry of the page's "Draw" choice: a generator of any image (`generator`) and/or a
    conditional one (`conditional`), the names of the conditional one's classes (`classes`),
    what the page calls their images (`noun`: digits, clothes, images) and which card tells
    about them (`card`: DIGITS, CLOTHES, or None for generators given to the page)."""

    def __init__(self, name, generator=None, conditional=None, classes=(), dataset=None, card=None):
        self.name, self.generator, self.conditional = name, generator, conditional
        self.classes = list(classes)
        self.choices = [ANY] * (generator is not None) + self.classes
        self.dataset, self.card = dataset, card
        self.noun = NOUNS.get(dataset, "images")
        self.digits = dataset == datasets.MNIST

    @classmethod
    def of(cls, name, generator=None, conditional=None, card=None):
        """The entry for loaded generators; their class names and dataset come from the settings
        of the runs they were loaded from (`sampling.class_names`, `datasets.class_names`)."""
        from dcgan import sampling

        names = None
        if conditional is not None:
            names = sampling.class_names(conditional)
            classes = names or [str(c) for c in range(sampling.num_classes(conditional))]
        else:
            names, classes = getattr(generator, "_dcgan_run_classes", None), []
        return cls(name, generator, conditional, classes, dataset_of(names), card)

    def shapes(self):
        """(generator, the shape of one uint8 image it draws) for each generator here."""
        from dcgan import sampling

        return [(g, sampling.image_shape(g)) for g in (self.generator, self.conditional) if g]


def load_generator(name, given=None, conditional=True):
    """The generator `files.resolve(name, given)` names (a shipped one: `files.shipped(name)`),
    float32 and compiled, with its run's class names; (it, where it came from: "flag",
    "$ENV..." or "shipped", also for a flag naming a shipped file). UsageError for a path that
    does not load, or a generator of the wrong kind."""
    from dcgan import sampling

    flag = "--conditional-model" if conditional else "--model"
    try:
        path, source = files.resolve(name, given) if name in files.ENV else (None, "shipped")
    except ValueError as e:  # a SavedModel folder named by an environment variable
        raise UsageError(" ".join(str(e).split())) from None
    shipped = files.shipped(name)
    if source != "shipped" and path.exists() and path.resolve() == shipped.resolve():
        source = "shipped"  # loaded once, offered once
    path = shipped if source == "shipped" else path
    where = flag if source == "flag" else source
    try:
        g = sampling.load_generator(path)
    except (ValueError, OSError) as e:
        raise UsageError(f"{where} {path}: {' '.join(str(e).split())}") from None
    if sampling.is_conditional(g) != conditional:
        kind = (
            "a conditional generator (trained with --conditional)"
            if conditional
            else "a generator that draws any image (trained without --conditional)"
        )
        raise UsageError(f"{where} {path} is not {kind}: pass {flag} {kind.split(' (')[0]}")
    wrapped = Compiled.wrap(float32_copy(g))
    wrapped._dcgan_class_names = sampling.class_names(g)  # the run's, kept by the copy
    # an unconditional run's classes say only what its images are (digits, clothes, ...)
    wrapped._dcgan_run_classes = datasets.class_names(datasets.run_config(path))
    wrapped._dcgan_source = str(path)
    return wrapped, source


class Demo:
    """What the page draws, from the generators of each `Models` entry, loaded once. The first
    entry is the one the page opens on; `models=` names another (by its `name`)."""

    def __init__(self, *entries):
        from dcgan import images, sampling

        self.sampling, self.layout = sampling, images.grid
        self.entries = list(entries)
        self.shipped = all(e.card for e in self.entries)  # whether no generator was given
        # the largest side of any generator: how much room the page gives its grid
        self.image_side = max(shape[0] for e in self.entries for _, shape in e.shapes())

    @property
    def choices(self):
        return self.entries[0].choices

    @classmethod
    def load(cls, model=None, conditional_model=None):
        """Every shipped generator (digits: any and conditional; clothes: conditional), and
        first the ones named (`model`, `conditional_model`, else $DCGAN_GENERATOR /
        $DCGAN_CONDITIONAL_GENERATOR) as YOURS. UsageError for a path that does not load or
        the wrong kind."""
        loaded = {
            name: load_generator(name, path, conditional)
            for name, path, conditional in (
                ("generator", model, False),
                ("conditional_generator", conditional_model, True),
            )
        }
        # the shipped digits' generators, loaded above where none was given in their place
        shipped = {
            name: g if source == "shipped" else load_generator(name, None, name != "generator")[0]
            for name, (g, source) in loaded.items()
        }
        given = {name: None if source == "shipped" else g for name, (g, source) in loaded.items()}
        entries = [
            Models.of(DIGITS, shipped["generator"], shipped["conditional_generator"], DIGITS),
            Models.of(CLOTHES, None, load_generator("fashion_generator")[0], CLOTHES),
        ]
        if any(given.values()):
            entries.insert(0, Models.of(YOURS, given["generator"], given["conditional_generator"]))
        demo = cls(*entries)
        demo.warm_up()
        return demo

    def warm_up(self):
        """Draws what the page draws, once per entry and kind of choice (compiling each
        generator at the batch sizes the page uses), so the first request is as fast as the
        rest."""
        import tensorflow as tf

        # Each batch size is one trace, by design: not the retracing TensorFlow warns about.
        logger, level = tf.get_logger(), tf.get_logger().level
        logger.setLevel("ERROR")
        try:
            for entry in self.entries:
                for choice in {entry.choices[0], entry.choices[-1]}:
                    self.show(choice, 0, 1, models=entry.name)
        finally:
            logger.setLevel(level)

    def entry(self, models=None):
        """The entry named `models` (None: the first); ValueError naming those there are."""
        if models is None:
            return self.entries[0]
        for entry in self.entries:
            if isinstance(models, str) and entry.name.casefold() == models.strip().casefold():
                return entry
        names = ", ".join(e.name for e in self.entries)
        raise ValueError(f"draw {shown(models)}: pick one of {names}")

    def _pick(self, choice, models=None):
        entry = self.entry(models)
        c = check_choice(choice, entry.choices)
        return (entry.generator, None) if c is None else (entry.conditional, c)

    def images(self, choice, seed, n=GRID * GRID, models=None):
        """uint8 (n, s, s), or (n, s, s, 3) from a colour generator: n images of `choice`
        ('any' or a class of entry `models`) from `seed`."""
        g, c = self._pick(choice, models)
        return self.sampling.generate(g, n, seed=check_seed(seed), classes=c)

    digits = images  # the name the digits-only page had

    def grid(self, choice, seed, models=None):
        """The GRID x GRID grid of `choice` from `seed`, one uint8 image (unscaled)."""
        return self.layout(self.images(choice, seed, models=models), cols=GRID)

    def walk(self, choice, seed, to_seed, steps=WALK_STEPS, models=None):
        """A strip of `steps` images on a straight line in latent space from the first image of
        `seed`'s grid to the first image of `to_seed`'s grid, one uint8 image."""
        g, c = self._pick(choice, models)
        dim = self.sampling.latent_dim(g)
        a = np.asarray(self.sampling.latents(1, dim, check_seed(seed)), np.float32)
        b = np.asarray(self.sampling.latents(1, dim, check_seed(to_seed, "to seed")), np.float32)
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        images = self.sampling.generate(g, steps, z=(1.0 - t) * a + t * b, classes=c)
        return self.layout(images, cols=steps)

    def styles(self, seed, models=None):
        """Up to STYLES classes from one noise vector (the first of `seed`'s grid): one style,
        every class; None for an entry with no conditional generator."""
        g = self.entry(models).conditional
        if g is None:
            return None
        classes = self.sampling.spread_classes(g, STYLES)
        rows = self.sampling.class_rows(g, 1, check_seed(seed), classes=classes)
        return self.layout(rows.reshape(len(classes), *rows.shape[2:]), cols=len(classes))

    def show(self, choice, seed, to_seed, models=None):
        """What the page shows: (grid, walk, style row, message). Bad input gives the message
        and None for the images instead of raising."""
        start = time.perf_counter()
        try:
            seed, to_seed = check_seed(seed), check_seed(to_seed, "to seed")
            entry = self.entry(models)
            images = (
                self.grid(choice, seed, entry.name),
                self.walk(choice, seed, to_seed, models=entry.name),
                self.styles(seed, entry.name),
            )
            g, c = self._pick(choice, entry.name)
        except ValueError as e:
            return None, None, None, f"**Cannot draw that:** {' '.join(str(e).split())}"
        if c is None:
            what = f"{entry.noun} from the unconditional generator"
        else:
            name = entry.classes[c]
            what = f"{name}s" if entry.digits else f"images of class {name}"
        took = time.perf_counter() - start
        sides = [self.sampling.image_shape(g)[0]] * 2
        if entry.conditional is not None:
            sides.append(self.sampling.image_shape(entry.conditional)[0])
        drawn = [upscale(i, scale_for(side)) for i, side in zip(images, sides)]
        return (
            *drawn,
            *[None] * (3 - len(drawn)),
            f"Seed {seed}: {GRID * GRID} {what}; walk to seed {to_seed} ({took:.2f} s)",
        )
