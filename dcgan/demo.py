"""`python -m dcgan.demo`: a local page to play with the generators in a browser.

    pip install -e ".[demo]" && python -m dcgan.demo        # then open http://127.0.0.1:7860
    python -m dcgan.demo --model runs/X/generator.h5 --conditional-model runs/Y/generator.h5

Pick a digit 0-9 (the conditional generator) or "any" (the unconditional one) and a seed, and
the page shows an 8x8 grid of digits; a latent walk from the grid's first digit to the first
digit of another seed's grid; and the conditional generator's digits 0-9 from the grid's first
noise vector, so all ten share one style (with "any", that style is not the grid's: the grid
comes from the other generator, and the page says so). A typed seed draws as it is typed, no
Enter needed; "New digits" picks a new random seed and shows it in the seed box. A seed that is
not a whole number from 0 to 2**31 - 1 (3.5, -1, abc, 1e400, an empty box) is a message in the
page, never rounded: the seed boxes are text boxes, so whatever is typed reaches the page's own
check. Uploads over 1 kB are refused (the page takes none) and Gradio deletes the images it drew
once they are ten minutes old. The models load once, when the page starts.
"""

import decimal
import errno
import importlib.util
import json
import math
import numbers
import os
from pathlib import Path
import re
import socket
import time

import numpy as np

from dcgan import files
from dcgan.errors import CliParser, UsageError, quiet_tensorflow, run_cli
from dcgan.files import ENV
from dcgan.settings import MODEL_HELP

SEED_MAX = 2**31 - 1  # seeds the page takes: 0 .. SEED_MAX
# The shipped generators' model cards, where the page links to them.
CARDS_URL = "https://github.com/dcgan-project/dcgan/blob/main/saved_models/"
# (digit, seed, walk-to seed) the page offers as examples.
EXAMPLES = [["7", 1, 2], ["any", 42, 43], ["0", 2024, 7], ["4", 123456, 654321]]
GRID = 8  # the grid is GRID x GRID digits
WALK_STEPS = 10  # digits in the latent walk, both ends included
SCALE = 2  # each pixel is shown as SCALE x SCALE
ANY = "any"
STYLES = 10  # classes in the style row, spread over a generator's classes when it has more
CHOICES = [ANY] + [str(d) for d in range(10)]
# The page takes no uploads: Gradio's upload endpoint refuses a body larger than this.
MAX_FILE_SIZE = "1kb"
# Gradio's delete_cache: every CACHE_EVERY_S, delete the files it made (drawn images) older than
# CACHE_AGE_S.
CACHE_EVERY_S, CACHE_AGE_S = 300, 600
CACHE_DELETE = (CACHE_EVERY_S, CACHE_AGE_S)


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
    the same seed must always mean the same digits."""
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


def check_choice(choice, choices=CHOICES):
    """'any' -> None, one of `choices` (in any case: '0'..'9', or the conditional generator's
    class names) -> its class; ValueError otherwise, whatever `choice` is."""
    text = choice.strip().casefold() if isinstance(choice, str) else None
    folded = [c.casefold() for c in choices]
    if text not in folded:
        digits = list(choices) == CHOICES
        listed = (
            "0-9" if digits else ", ".join(choices[1:21]) + (", ..." if len(choices) > 21 else "")
        )
        raise ValueError(
            f"{'digit' if digits else 'class'} {shown(choice)}: pick one of {listed}, or {ANY}"
        )
    return None if text == ANY else folded.index(text) - 1


def class_choices(conditional):
    """The page's choices: any, then the conditional generator's classes by the names its run
    gives them (`sampling.class_names`), else by number."""
    from dcgan import sampling

    names = sampling.class_names(conditional)
    return [ANY, *(names or map(str, range(sampling.num_classes(conditional))))]


def upscale(image, scale=SCALE):
    """Each pixel of a (h, w) or colour (h, w, 3) image as scale x scale."""
    return image.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else image


def scale_for(side):
    """How much a grid of images of `side` pixels is upscaled: SCALE for MNIST's 28, so that
    every size shows about as large (32: 2, 64: 1)."""
    return max(1, round(SCALE * 28 / side))


def grid_side(side=28):
    """The width in the page of the GRID x GRID grid of images of `side` pixels, as shown."""
    return scale_for(side) * (GRID * (side + 2) + 2)  # sampling.grid's padding: 2 pixels


def float32_copy(generator):
    """The generator computing in float32: a model trained under mixed_bfloat16 keeps that policy
    when saved, and bfloat16 convolutions run about ten times slower on a CPU without bf16 math.
    The weights are the same (float32 either way); the digits differ by a grey level or so."""
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
    fast on a CPU as Keras's eager call, with the same digits. Has what `sampling` uses of a
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


class Demo:
    """What the page draws, from two generators loaded once."""

    def __init__(self, generator, conditional):
        from dcgan import sampling

        self.sampling = sampling
        self.generator = generator  # any digit
        self.conditional = conditional  # takes [latents, digit]
        self.choices = class_choices(conditional)
        self.shipped = True  # whether both are the shipped generators
        # the larger of the two generators' sides: how much room the page gives its grid
        self.image_side = max(self.side(g) for g in (generator, conditional))

    def side(self, generator):
        return self.sampling.image_shape(generator)[0]

    @classmethod
    def load(cls, model=None, conditional_model=None):
        """Loads the generators named (default: $DCGAN_GENERATOR / $DCGAN_CONDITIONAL_GENERATOR,
        else the shipped ones); UsageError for a path that does not load or the wrong kind."""
        from dcgan import files, sampling

        models, sources = [], []
        for name, given, flag, conditional in (
            ("generator", model, "--model", False),
            ("conditional_generator", conditional_model, "--conditional-model", True),
        ):
            path, source = files.resolve(name, given)
            sources.append(source)
            where = flag if source == "flag" else source
            try:
                g = sampling.load_generator(path)
            except (ValueError, OSError) as e:
                raise UsageError(f"{where} {path}: {' '.join(str(e).split())}") from None
            if sampling.is_conditional(g) != conditional:
                kind = (
                    "a conditional generator (trained with --conditional)"
                    if conditional
                    else "a generator that draws any digit (trained without --conditional)"
                )
                raise UsageError(f"{where} {path} is not {kind}: pass {flag} {kind.split(' (')[0]}")
            wrapped = Compiled.wrap(float32_copy(g))
            wrapped._dcgan_class_names = sampling.class_names(g)  # the run's, kept by the copy
            models.append(wrapped)
        demo = cls(*models)
        demo.shipped = all(source == "shipped" for source in sources)
        demo.warm_up()
        return demo

    def warm_up(self):
        """Calls each generator at the batch sizes the page uses (compiling them), so the first
        request is as fast as the rest."""
        for n in (GRID * GRID, WALK_STEPS, 10):
            self.digits(ANY, 0, n=n)
            self.digits(self.choices[1], 0, n=n)

    def _pick(self, choice):
        digit = check_choice(choice, self.choices)
        return (self.generator, None) if digit is None else (self.conditional, digit)

    def digits(self, choice, seed, n=GRID * GRID):
        """uint8 (n, s, s), or (n, s, s, 3) from a colour generator: n digits of `choice`
        ('any' or '0'..'9') from `seed`."""
        g, digit = self._pick(choice)
        return self.sampling.generate(g, n, seed=check_seed(seed), digits=digit)

    def grid(self, choice, seed):
        """The GRID x GRID grid of `choice` from `seed`, one uint8 image (unscaled)."""
        return self.sampling.grid(self.digits(choice, seed), cols=GRID)

    def walk(self, choice, seed, to_seed, steps=WALK_STEPS):
        """A strip of `steps` digits on a straight line in latent space from the first digit of
        `seed`'s grid to the first digit of `to_seed`'s grid, one uint8 image."""

        g, digit = self._pick(choice)
        dim = self.sampling.latent_dim(g)
        a = np.asarray(self.sampling.latents(1, dim, check_seed(seed)), np.float32)
        b = np.asarray(self.sampling.latents(1, dim, check_seed(to_seed, "to seed")), np.float32)
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        images = self.sampling.generate(g, steps, z=(1.0 - t) * a + t * b, digits=digit)
        return self.sampling.grid(images, cols=steps)

    def styles(self, seed):
        """Digits 0-9 from one noise vector (the first of `seed`'s grid): one style, ten digits."""
        classes = self.sampling.spread_classes(self.conditional, STYLES)
        rows = self.sampling.digit_rows(self.conditional, 1, check_seed(seed), classes=classes)
        return self.sampling.grid(rows.reshape(len(classes), *rows.shape[2:]), cols=len(classes))

    def show(self, choice, seed, to_seed):
        """What the page shows: (grid, walk, style row, message). Bad input gives the message
        and None for the images instead of raising."""
        start = time.perf_counter()
        try:
            seed, to_seed = check_seed(seed), check_seed(to_seed, "to seed")
            images = (self.grid(choice, seed), self.walk(choice, seed, to_seed), self.styles(seed))
            g = self._pick(choice)[0]
        except ValueError as e:
            return None, None, None, f"**Cannot draw that:** {' '.join(str(e).split())}"
        what = "digits from the unconditional generator" if choice == ANY else f"{choice}s"
        took = time.perf_counter() - start
        sides = (self.side(g), self.side(g), self.side(self.conditional))
        return (
            *(upscale(i, scale_for(side)) for i, side in zip(images, sides)),
            f"Seed {seed}: {GRID * GRID} {what}; walk to seed {to_seed} ({took:.2f} s)",
        )


def new_seed():

    return int(np.random.default_rng().integers(SEED_MAX + 1))


def next_seed(typed, drawn):
    """The seed "New digits" draws: a new random one, unless the box holds a good seed the page
    has not drawn yet (typed, then the button pressed before it drew), which is kept as typed.
    `drawn` is the seed of what the page shows (None before the first draw)."""
    try:
        seed = check_seed(typed)
    except ValueError:
        return new_seed()  # a bad seed in the box is replaced, not kept
    return new_seed() if seed == drawn else seed


def styles_caption(choice):
    """The style row's heading and caption, true for `choice`: with "any" the grid comes from the
    unconditional generator and the row from the conditional one, so they share noise, not
    style."""
    head = "### Same style, every digit\n"
    try:
        any_digit = check_choice(choice) is None
    except ValueError:
        any_digit = False
    if any_digit:
        return head + (
            "The conditional generator draws 0-9 from one noise vector, the one behind the "
            "grid's first digit (top left). The grid comes from the other generator (any "
            "digit), so its top-left digit does not share their style."
        )
    return head + (
        "Digits 0-9 from one noise vector, the one behind the grid's first digit (top left): "
        "one style, ten digits."
    )


def cards_markdown(shipped_dir=None, shipped=True):
    """Links to the shipped models' cards with their scores (from the scores.json beside them).
    `shipped`: whether the page runs the shipped generators (else it says the cards describe
    those, not the ones the page runs)."""

    folder = Path(shipped_dir) if shipped_dir is not None else files.shipped_dir()

    def scores(name):
        try:
            return json.loads((folder / name / "scores.json").read_text())
        except (OSError, ValueError):
            return None

    lines = ["### The models"]
    if not shipped:
        lines.append(
            "This page runs generators given with `--model` / `--conditional-model` (or their "
            "environment variables); the cards and scores below are the shipped ones'."
        )
    for title, name, card in (
        ("Any digit", "generator", "generator/README.md"),
        ("The digit asked for", "conditional", "conditional/README.md"),
    ):
        line = f"- **{title}**: [model card]({CARDS_URL}{card})"
        got = scores(name)
        if got is not None:
            g, real = got["generated"], got["real"]
            parts = [
                f"FID {g['fid']:.2f} (real digits {real['fid']:.2f}, lower is better)",
                f"precision {g['precision']:.2f}",
                f"recall {g['recall']:.2f}",
            ]
            if "agreement" in g:
                parts.insert(0, f"read as the digit asked {g['agreement']:.1%} of the time")
            line += f": {', '.join(parts)}; n = {g['n']:,} against the MNIST test digits"
        lines.append(line)
    lines.append(
        "- Scored in the features of an MNIST classifier: "
        f"[its card]({CARDS_URL}classifier/README.md) (not Inception's: these FIDs compare only "
        "with each other)."
    )
    return "\n".join(lines)


INTRO = f"""# Draw me a digit
A DCGAN trained on MNIST. Pick a digit (or *any*) and a seed; the same seed always draws the
same digits.

- **A typed seed draws as you type**, no Enter needed.
- **New digits** picks a new random seed, shows it in the seed box and draws it, so you can come
  back to it. A seed you typed is drawn as typed, never replaced before it is drawn.
- Seeds are whole numbers from 0 to {SEED_MAX:,}: anything else (3.5, -1, abc) is a message
  here, never rounded.
"""


def build(demo):
    """The page, as a Gradio Blocks app (not launched)."""
    import gradio as gr

    def show(choice, seed, to_seed, drawn=None):
        """(grid, walk, style row, its caption, message, the seed drawn). `drawn`: the seed of
        what the page shows, named in a message about bad input (typing 3.5 draws 3 on the way:
        the message says that 3 is what stays, not 3.5 rounded)."""
        *images, message = demo.show(choice, seed, to_seed)
        if images[0] is None:  # keep what the page shows, say what is wrong
            if drawn is not None:
                message += f" (the digits shown are still seed {drawn}'s)"
            return (*[gr.skip()] * 4, message, gr.skip())
        return *images, styles_caption(choice), message, check_seed(seed)

    def seed_box(value, label, elem_id, **kw):
        """A seed box: a Textbox, so whatever is typed reaches `check_seed` (a message in the
        page); a gr.Number would answer text, "1e400" or an empty box with Gradio's error."""
        return gr.Textbox(
            value=str(value), label=label, elem_id=elem_id, lines=1, max_lines=1, **kw
        )

    # Gradio keeps every drawn image in its cache folder: delete what is older than CACHE_AGE_S.
    with gr.Blocks(title="dcgan: draw me a digit", delete_cache=CACHE_DELETE) as page:
        gr.Markdown(INTRO, elem_id="intro")
        drawn = gr.State(None)  # the seed of what the page shows
        with gr.Row():
            choices = getattr(demo, "choices", CHOICES)
            label = "Digit" if choices == CHOICES else "Class"
            choice = (gr.Radio if len(choices) <= 21 else gr.Dropdown)(
                choices, value=ANY, label=label, elem_id="digit", scale=3
            )
            # any value, not only a choice, reaches check_choice (a message in the page) rather
            # than Gradio's error for a value outside the choices
            choice.preprocess = lambda payload: payload
            seed = seed_box(1, f"Seed (0 to {SEED_MAX:,})", "seed", scale=1)
            new = gr.Button("New digits", variant="primary", elem_id="new", scale=1)
        message = gr.Markdown(elem_id="message")
        image = dict(
            format="png", image_mode="L", interactive=False, show_label=False, buttons=["download"]
        )
        side = grid_side(getattr(demo, "image_side", 28))  # a stub without generators: 28
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=side):
                gr.Markdown(f"### {GRID}x{GRID} grid")
                grid = gr.Image(elem_id="grid", height=side + 16, **image)
            with gr.Column(scale=1):
                caption = gr.Markdown(styles_caption(ANY), elem_id="styles_caption")
                row = gr.Image(elem_id="styles", **image)
                gr.Markdown(
                    "### Latent walk\nA straight line in latent space from the grid's "
                    "first digit to the first digit of another seed's grid."
                )
                to_seed = seed_box(2, "Walk to seed", "to_seed")
                walk = gr.Image(elem_id="walk", **image)
        inputs, outputs = [choice, seed, to_seed], [grid, walk, row, caption, message, drawn]
        gr.Examples(
            EXAMPLES,
            inputs,
            outputs,
            fn=lambda choice, seed, to_seed: show(choice, seed, to_seed),
            run_on_click=True,
            cache_examples=False,
            label="Examples (digit, seed, walk to seed)",
            elem_id="examples",
        )
        gr.Markdown(cards_markdown(shipped=demo.shipped), elem_id="cards")
        new.click(next_seed, [seed, drawn], seed, queue=False).then(show, [*inputs, drawn], outputs)
        # .input: what a person types or clicks (New digits and the examples draw on their own)
        gr.on(
            [choice.input, seed.input, seed.submit, to_seed.input, to_seed.submit, page.load],
            show,
            [*inputs, drawn],
            outputs,
            trigger_mode="always_last",
        )
    return page


def port_arg(text):
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UsageError(f"--port {text!r}: pass a port number 1-65535")
    return int(text)


def parser():
    p = CliParser("python -m dcgan.demo", __doc__)
    a = p.add_argument
    a(
        "--model",
        default=None,
        help=f"{MODEL_HELP}, for 'any' digit (default: ${ENV['generator']}, else the shipped one)",
    )
    a(
        "--conditional-model",
        default=None,
        help="conditional generator for digits 0-9 (default: "
        f"${ENV['conditional_generator']}, else the shipped one)",
    )
    a(
        "--host",
        default="127.0.0.1",
        help="address to serve on; 0.0.0.0: every interface (default: 127.0.0.1)",
    )
    a("--port", default="7860", help="port to serve on (default: 7860)")
    return p


def check_port(host, port):
    """UsageError unless `host` is an address of this machine and `port` on it is free to serve
    on; the message says which of the two to change."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, UnicodeError, ValueError) as e:  # gaierror is an OSError
        why = getattr(e, "strerror", None) or " ".join(str(e).split())
        raise UsageError(
            f"--host {host!r} is not an address this machine can serve on ({why}): "
            "pass another --host, such as 127.0.0.1 or 0.0.0.0"
        ) from None
    with socket.socket(family, socket.SOCK_STREAM) as s:
        if os.name != "nt":
            # As the server binds (uvicorn sets it too): a port whose last server stopped with
            # a browser tab open holds only TIME_WAIT connections, and serves again at once;
            # one with a listener is still refused. (On Windows it would share a busy port.)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as e:
            why = e.strerror or " ".join(str(e).split())
            if e.errno == errno.EADDRNOTAVAIL:  # a valid address, but not one of this machine's
                raise UsageError(
                    f"--host {host!r} is not an address of this machine ({why}): "
                    "pass another --host, such as 127.0.0.1 or 0.0.0.0"
                ) from None
            raise UsageError(
                f"cannot serve on {host}:{port} ({why}): "
                "pass another --port, or stop what uses this one"
            ) from None


def launch_options(host, port):
    """What `main` passes to Gradio's launch (besides the theme): where to serve, no share link,
    no browser, and uploads capped at MAX_FILE_SIZE (the page takes none)."""
    return dict(
        server_name=host,
        server_port=port,
        ssr_mode=False,
        share=False,
        inbrowser=False,
        footer_links=[],
        max_file_size=MAX_FILE_SIZE,
        prevent_thread_lock=True,
        quiet=True,
    )


def install_hint(package_dir=None):
    """How to install Gradio where the project is: the demo extra of the checkout it runs from
    (editable), else of the installed package."""
    root = Path(package_dir or Path(__file__).resolve().parent).parent
    if (root / "pyproject.toml").is_file() and (root / "dcgan" / "demo.py").is_file():
        return 'pip install -e ".[demo]" in ' + str(root)
    return 'pip install "dcgan[demo]"'


def main(argv=None):
    args = parser().parse_args(argv)
    args.port = port_arg(args.port)
    check_port(args.host, args.port)
    if importlib.util.find_spec("gradio") is None:
        raise UsageError(f"the demo needs Gradio: {install_hint()}")

    quiet_tensorflow()
    demo = Demo.load(args.model, args.conditional_model)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # a local page phones no one
    import gradio as gr

    page = build(demo)
    # System fonts: the default theme would fetch its fonts from the web.
    theme = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )
    try:
        page.launch(**launch_options(args.host, args.port), theme=theme)
    except OSError as e:  # the port was taken since check_port
        raise UsageError(
            f"cannot serve on {args.host}:{args.port} ({' '.join(str(e).split())}): "
            "pass another --port"
        ) from None
    print(f"serving the demo on http://{args.host}:{args.port} (Ctrl+C stops it)", flush=True)
    try:
        page.block_thread()
    finally:
        page.close()
    return 0


def cli():
    """The `dcgan-demo` console command."""
    run_cli(main)


if __name__ == "__main__":
    cli()
