"""The demo page itself (`build`: a Gradio Blocks app) and what it says: the intro, the captions
true for what is drawn, the model cards of each entry of its "Draw" choice, the examples, and
the seed that "New" draws. What it draws is `dcgan.demo_draw`'s."""

import abc
import json
from pathlib import Path

from dcgan import files
from dcgan.demo_draw import (
    ANY,
    CHOICES,
    CLOTHES,
    DIGITS,
    GRID,
    STYLES,
    check_choice,
    check_seed,
    grid_side,
    listed,
    shown,
)
from dcgan.noise import SEED_MAX, random_seed

# The shipped generators' model cards, where the page links to them.
CARDS_URL = "https://github.com/dcgan-project/dcgan/blob/main/saved_models/"
# (what to draw, class, seed, walk-to seed) the page offers as examples.
EXAMPLES = [
    [DIGITS, "7", 1, 2],
    [DIGITS, "any", 42, 43],
    [DIGITS, "0", 2024, 7],
    [CLOTHES, "Sneaker", 5, 6],
    [CLOTHES, "Dress", 123456, 654321],
]
MOST_RADIO = 21  # choices shown as radio buttons; more are a dropdown
# The page takes no uploads: Gradio's upload endpoint refuses a body larger than this.
MAX_FILE_SIZE = "1kb"
# Gradio's delete_cache: every CACHE_EVERY_S, delete the files it made (drawn images) older than
# CACHE_AGE_S.
CACHE_EVERY_S, CACHE_AGE_S = 300, 600
CACHE_DELETE = (CACHE_EVERY_S, CACHE_AGE_S)
# The shipped entries' cards: (title, folder, what its scores compare with, classifier card).
CARDS = {
    DIGITS: (
        [("Any digit", "generator"), ("The digit asked for", "conditional")],
        ("real digits", "the MNIST test digits", "digit"),
        ("an MNIST classifier", "classifier/README.md"),
    ),
    CLOTHES: (
        [("The class asked for (Fashion-MNIST)", "fashion")],
        ("real clothes", "the Fashion-MNIST test images", "class"),
        ("a Fashion-MNIST classifier", "fashion-classifier/README.md"),
    ),
}


def next_seed(typed, drawn):
    """The seed "New" draws: a new random one, unless the box holds a good seed the page has not
    drawn yet (typed, then the button pressed before it drew), which is kept as typed. `drawn`
    is the seed of what the page shows (None before the first draw)."""
    try:
        seed = check_seed(typed)
    except ValueError:
        return random_seed()  # a bad seed in the box is replaced, not kept
    return random_seed() if seed == drawn else seed


def styles_caption(choice, models=None):
    """The style row's heading and caption, true for `choice` of entry `models` (None: the
    shipped digits): with "any" the grid comes from the unconditional generator and the row
    from the conditional one, so they share noise, not style."""
    digits = models is None or models.digits
    choices = CHOICES if models is None else models.choices
    if models is not None and models.conditional is None:
        return (
            "### Every class\nNo conditional generator was given (`--conditional-model`): "
            "no row of classes."
        )
    one = "digit" if digits else "image"
    head = f"### Same style, every {'digit' if digits else 'class'}\n"
    try:
        any_one = check_choice(choice, choices) is None
    except ValueError:
        any_one = False
    if digits:
        classes = "0-9"
    else:
        names = models.classes
        some = f"{STYLES} of its {len(names)} classes" if len(names) > STYLES else listed(names)
        classes = f"{some} ({len(names)} classes)" if len(names) <= STYLES else some
    if any_one:
        return head + (
            f"The conditional generator draws {classes} from one noise vector, the one behind "
            f"the grid's first {one} (top left). The grid comes from the other generator (any "
            f"{one}), so its top-left {one} does not share their style."
        )
    if digits:
        return head + (
            "Digits 0-9 from one noise vector, the one behind the grid's first digit (top left): "
            "one style, ten digits."
        )
    return head + (
        f"{classes[0].upper()}{classes[1:]} from one noise vector, the one behind the grid's "
        f"first image (top left): one style, every class."
    )


def walk_caption(models=None):
    one = "digit" if models is None or models.digits else "image"
    return (
        f"### Latent walk\nA straight line in latent space from the grid's first {one} to the "
        f"first {one} of another seed's grid."
    )


def shape_words(shape):
    """(28, 28) -> "28x28 greyscale"; (32, 32, 3) -> "32x32 colour"."""
    return f"{shape[0]}x{shape[1]} {'colour' if len(shape) == 3 else 'greyscale'}"


def cards_markdown(shipped_dir=None, kind=DIGITS):
    """Links to the model cards of the shipped entry `kind` (DIGITS, CLOTHES) with their scores
    (from the scores.json beside them)."""
    folder = Path(shipped_dir) if shipped_dir is not None else files.shipped_dir()
    models, (real_name, against, asked), (reader, reader_card) = CARDS[kind]

    def scores(name):
        try:
            return json.loads((folder / name / "scores.json").read_text())
        except (OSError, ValueError):
            return None

    lines = ["### The models"]
    for title, name in models:
        line = f"- **{title}**: [model card]({CARDS_URL}{name}/README.md)"
        got = scores(name)
        if got is not None:
            g, real = got["generated"], got["real"]
            parts = [
                f"FID {g['fid']:.2f} ({real_name} {real['fid']:.2f}, lower is better)",
                f"precision {g['precision']:.2f}",
                f"recall {g['recall']:.2f}",
            ]
            if "agreement" in g:
                parts.insert(0, f"read as the {asked} asked {g['agreement']:.1%} of the time")
            line += f": {', '.join(parts)}; n = {g['n']:,} against {against}"
        lines.append(line)
    lines.append(
        f"- Scored in the features of {reader}: [its card]({CARDS_URL}{reader_card})"
        " (not Inception's: these FIDs compare only with each other)."
    )
    return "\n".join(lines)


def given_markdown(models):
    """What the page knows of the generators it was given: their image shapes and class names,
    from their runs' settings."""
    lines = [
        "### Your models",
        "Generators given with `--model` / `--conditional-model` (or their environment "
        "variables); the shipped ones, with their cards, are under Digits and Clothes.",
    ]
    if models.generator is not None:
        shape = shape_words(models.shapes()[0][1])
        lines.append(f"- **Any image**: {shape} images")
    if models.conditional is not None:
        shape = shape_words(models.shapes()[-1][1])
        k = len(models.classes)
        if getattr(models.conditional, "_dcgan_class_names", None):
            names = f"{k} classes named by its run's settings: {listed(models.classes)}"
        else:
            names = (
                f"{k} classes, 0-{k - 1} by number: no run settings (config.json) beside it "
                "name them"
            )
        lines.append(f"- **The class asked for**: {shape} images; {names}")
    return "\n".join(lines)


def card_for(models):
    return cards_markdown(kind=models.card) if models.card else given_markdown(models)


def class_label(models):
    return "Digit" if models.digits else "Class"


INTRO = f"""# Draw me a digit, or a sneaker
DCGANs trained on MNIST's digits and Fashion-MNIST's clothes, and any run's generators given
with `--model` / `--conditional-model`. Pick what to draw, a class (or *any*) and a seed; the
same seed always draws the same images.

- **A typed seed draws as you type**, no Enter needed; an emptied box says so at once.
- **New digits** (or clothes, or images) picks a new random seed, shows it in the seed box and
  draws it, so you can come back to it. A seed you typed is drawn as typed, never replaced
  before it is drawn.
- Seeds are whole numbers from 0 to {SEED_MAX:,}: anything else (3.5, -1, abc) is a message
  here, never rounded.
"""


def example_label(models, choice, seed, to_seed):
    """An example as its button says it: "Sneaker (clothes), seed 5, walk to 6"."""
    return f"{choice} ({models.lower()}), seed {seed}, walk to {to_seed}"


def passes_any(component):
    """A subclass of the Gradio choice `component` that passes any value on, not only one of
    its choices, so that it reaches `check_choice` (a message in the page) rather than Gradio's
    error. A subclass, not an instance's method: Gradio makes a new instance of the class for a
    session once a function updates the component (an example, a new entry's classes)."""

    def preprocess(self, payload):
        return payload

    attrs = {"preprocess": preprocess, "is_template": True}  # drawn in the page as `component`
    # ABCMeta's __new__, not Gradio's ComponentMeta's: that one only adds, for a class with no
    # __init__ or EVENTS of its own, a .pyi file written beside this module (in site-packages).
    return abc.ABCMeta.__new__(type(component), "PassesAny", (component,), attrs)


def build(demo):
    """The page, as a Gradio Blocks app (not launched), for a `demo_draw.Demo` (or anything with
    its `entries`, `image_side` and `show`)."""
    import gradio as gr

    entries = {e.name.casefold(): e for e in demo.entries}
    first = demo.entries[0]

    def entry(name):
        return entries.get(name.strip().casefold()) if isinstance(name, str) else None

    def show(name, choice, seed, to_seed, drawn=None):
        """(grid, walk, style row, its caption, the walk's caption, message, class choice, New
        button, cards, what is drawn). `drawn`: what the page shows ({models, choice, seeds,
        seed, noun, ok}), so that a change that draws nothing new draws nothing, and a message
        about bad input names the seed still shown (typing 3.5 draws 3 on the way: the message
        says that 3 is what stays, not 3.5 rounded). A new entry of "Draw" keeps the class
        picked if it has it, else takes its first choice."""
        drawn = drawn or {"models": first.name}
        models = entry(name)
        switched = models is not None and models.name != drawn["models"]
        if switched:
            try:
                check_choice(choice, models.choices)
            except ValueError:
                choice = models.choices[0]
        key = [name, choice, seed, to_seed]
        if drawn.get("ok") and drawn.get("key") == key:
            return (gr.skip(),) * 10  # the page shows it already (a New's or an example's echo)
        if models is None:  # the page's API takes anything: say what it offers
            offered = ", ".join(e.name for e in demo.entries)
            images = [None]
            message = f"**Cannot draw that:** draw {shown(name)}: pick one of {offered}"
        else:
            *images, message = demo.show(choice, seed, to_seed, models=models.name)
        updates = (gr.skip(),) * 3
        if switched:  # the class choice, New and the cards of the entry now picked
            updates = (
                gr.update(choices=models.choices, value=choice, label=class_label(models)),
                gr.update(value=f"New {models.noun}"),
                card_for(models),
            )
            drawn = {**drawn, "models": models.name}
        if images[0] is None:  # keep what the page shows, say what is wrong
            if drawn.get("seed") is not None:
                message += f" (the {drawn['noun']} shown are still seed {drawn['seed']}'s)"
            return (*[gr.skip()] * 5, message, *updates, {**drawn, "ok": False})
        now = {"models": models.name, "key": key, "seed": check_seed(seed), "ok": True}
        now["noun"] = models.noun
        captions = styles_caption(choice, models), walk_caption(models)
        return *images, *captions, message, *updates, now

    def seed_box(value, label, elem_id, **kw):
        """A seed box: a Textbox, so whatever is typed reaches `check_seed` (a message in the
        page); a gr.Number would answer text, "1e400" or an empty box with Gradio's error."""
        return gr.Textbox(
            value=str(value), label=label, elem_id=elem_id, lines=1, max_lines=1, **kw
        )

    def new_seed_for(typed, drawn):
        return next_seed(typed, (drawn or {}).get("seed"))

    # Gradio keeps every drawn image in its cache folder: delete what is older than CACHE_AGE_S.
    with gr.Blocks(title="dcgan: draw me a digit", delete_cache=CACHE_DELETE) as page:
        gr.Markdown(INTRO, elem_id="intro")
        drawn = gr.State(None)  # what the page shows
        with gr.Row():
            kind = passes_any(gr.Radio)(
                [e.name for e in demo.entries],
                value=first.name,
                label="Draw",
                elem_id="models",
                scale=1,
            )
            many = any(len(e.choices) > MOST_RADIO for e in demo.entries)
            choice = passes_any(gr.Dropdown if many else gr.Radio)(
                first.choices,
                value=first.choices[0],
                label=class_label(first),
                elem_id="class",
                scale=3,
            )
            seed = seed_box(1, f"Seed (0 to {SEED_MAX:,})", "seed", scale=1)
            new = gr.Button(f"New {first.noun}", variant="primary", elem_id="new", scale=1)
        message = gr.Markdown(elem_id="message")
        # no image_mode: Gradio's only converts uploads, and a colour run's images stay colour
        image = dict(format="png", interactive=False, show_label=False, buttons=["download"])
        side = grid_side(demo.image_side)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=side):
                gr.Markdown(f"### {GRID}x{GRID} grid")
                grid = gr.Image(elem_id="grid", height=side + 16, **image)
            with gr.Column(scale=1):
                caption = gr.Markdown(styles_caption(ANY, first), elem_id="styles_caption")
                row = gr.Image(elem_id="styles", **image)
                walk_text = gr.Markdown(walk_caption(first), elem_id="walk_caption")
                to_seed = seed_box(2, "Walk to seed", "to_seed")
                walk = gr.Image(elem_id="walk", **image)
        inputs = [kind, choice, seed, to_seed]
        # the examples only fill the inputs in: their change draws, as a visitor's would. Named
        # by labels: a table would show a class only among the radio's current choices.
        gr.Examples(
            EXAMPLES,
            inputs,
            label="Examples",
            elem_id="examples",
            example_labels=[example_label(*e) for e in EXAMPLES],
        )
        cards = gr.Markdown(card_for(first), elem_id="cards")
        outputs = [grid, walk, row, caption, walk_text, message, choice, new, cards, drawn]
        new.click(new_seed_for, [seed, drawn], seed, queue=False)
        # .change, not .input: Gradio's Textbox sends `input` on a key press only, so a box
        # emptied (or shortened) with Backspace or Delete would draw nothing until Enter. New's
        # seed and the examples draw through it too.
        gr.on(
            [kind.change, choice.change, seed.change, to_seed.change, page.load],
            show,
            [*inputs, drawn],
            outputs,
            trigger_mode="always_last",
        )
    return page
