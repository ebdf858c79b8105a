"""The demo page (`python -m dcgan.demo`): what it draws, its bad input, what it says (captions,
seeds, examples, model cards), and the page itself in headless Chromium (marker `browser`;
skipped, saying why, where no browser is installed). Tests that need Gradio skip, saying why,
where it is not installed.

Set DCGAN_DEMO_SCREENSHOT=path.png to have the browser test save a screenshot of the page.
"""

import base64
import io
import json
import os
from pathlib import Path
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from dcgan import classifier as classifiers
from dcgan import datasets
from dcgan import demo as demo_cli
from dcgan import demo_draw as draw
from dcgan import demo_page as pages
from dcgan.cli import run_cli
from dcgan.demo_draw import ANY, GRID, SCALE, SEED_MAX, WALK_STEPS, Demo

from conftest import REPO, run_python, start_python

CELL = 28 + 2  # images.grid: 28-pixel digits, 2 pixels of padding
GRADIO_SKIP = "the demo needs gradio: pip install -e '.[demo]'"
BROWSER_SKIP = (
    "no headless Chromium here: apt-get install chromium chromium-driver "
    "and pip install -e '.[test,demo]' (CI's .ci/run does both)"
)


def grid_cells(image, cols, rows=1):
    """The uint8 (n, 28, 28) digits of an unscaled `images.grid` image."""
    return np.stack(
        [
            image[2 + r * CELL : 2 + r * CELL + 28, 2 + c * CELL : 2 + c * CELL + 28]
            for r in range(rows)
            for c in range(cols)
        ]
    )


def read_as(images, classifier):

    _, probs = classifiers.features_and_probs(classifier, images)
    return probs.argmax(1)


@pytest.fixture(scope="module")
def demo():
    return Demo.load()


@pytest.fixture(scope="module")
def classifier():

    return classifiers.load_classifier()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- what the page draws, without a browser ---------------------------------------------------


def test_grid_is_8x8_of_the_digit_asked(demo, classifier):
    side = GRID * CELL + 2
    image = demo.grid("3", 5)
    assert image.shape == (side, side) and image.dtype == np.uint8
    assert np.mean(read_as(grid_cells(image, GRID, GRID), classifier) == 3) >= 0.9
    assert np.array_equal(image, demo.grid("3", 5)), "the same seed draws the same grid"
    assert demo.grid("any", 5).shape == (side, side)


def test_walk_and_style_row(demo, classifier):
    walk = demo.walk("any", 1, 2)
    assert walk.shape == (CELL + 2, WALK_STEPS * CELL + 2)
    digits = grid_cells(walk, WALK_STEPS)
    # the walk starts at the first digit of seed 1's grid and ends at the first of seed 2's
    assert np.array_equal(digits[0], grid_cells(demo.grid("any", 1), 1)[0])
    assert np.array_equal(digits[-1], grid_cells(demo.grid("any", 2), 1)[0])
    row = demo.styles(1)
    assert row.shape == (CELL + 2, 10 * CELL + 2)
    assert np.mean(read_as(grid_cells(row, 10), classifier) == np.arange(10)) >= 0.8


def test_show_gives_scaled_images_and_a_message(demo):
    grid, walk, row, message = demo.show("7", 12, 13)
    assert grid.shape == (SCALE * (GRID * CELL + 2),) * 2
    assert walk.shape[1] == SCALE * (WALK_STEPS * CELL + 2) and row.shape[1] == SCALE * (
        10 * CELL + 2
    )
    assert message.startswith("Seed 12: 64 7s")


@pytest.mark.parametrize(
    "choice, seed, to_seed, words",
    [
        ("7", -1, 2, "seed -1 is outside"),
        ("7", SEED_MAX + 1, 2, "from 0 to 2,147,483,647"),
        ("7", 2.5, 2, "seed 2.5 is not a whole number"),
        ("7", 3.5, 2, "type a whole number from 0 to 2,147,483,647"),
        ("any", 1, 0.25, "to seed 0.25 is not a whole number"),
        ("7", None, 2, "seed is empty"),
        ("7", "", 2, "seed is empty"),
        ("7", float("nan"), 2, "seed nan is not a number"),
        ("7", 1, 10**30, "to seed"),
        ("7", "abc", 2, "seed 'abc' is not a number"),
        ("7", "1", "1e400", "to seed 1e400 is outside"),
        ("7", 10**400, 2, "is outside"),
        ("12", 1, 2, "pick one of 0-9, or any"),
        (["7"], 1, 2, "pick one of 0-9, or any"),
        (None, 1, 2, "pick one of 0-9, or any"),
        (7, 1, 2, "pick one of 0-9, or any"),
    ],
)
def test_bad_input_in_the_page_is_a_message(demo, choice, seed, to_seed, words):
    *images, message = demo.show(choice, seed, to_seed)
    assert images == [None, None, None]
    assert message.startswith("**Cannot draw that:**") and words in message, message


def test_a_fraction_is_never_rounded():
    """3.5 is not seed 3 or 4: the page says so instead of drawing either."""
    for fraction in (3.5, 0.5, SEED_MAX - 0.5, "7.25"):
        with pytest.raises(ValueError, match="is not a whole number"):
            draw.check_seed(fraction)
    assert draw.check_seed(3.0) == 3 and draw.check_seed(SEED_MAX) == SEED_MAX


HUGE = 10**400  # float(HUGE) raises OverflowError


@pytest.mark.parametrize(
    "seed, words",
    [
        (HUGE, f"seed {repr(HUGE)[:37]}... is outside"),
        (-HUGE, "is outside"),
        (10**5000, "seed a number of 5,001 digits is outside"),  # too long for repr
        ("9" * 5000, "seed 999"),
        (2**63, "is outside"),
        (SEED_MAX + 1, "is outside"),
        (-1, "seed -1 is outside"),
        (True, "seed True is not a number"),
        (False, "seed False is not a number"),
        (None, "seed is empty"),
        ("", "seed is empty"),
        ("   ", "seed is empty"),
        ([], "seed [] is not a number"),
        ([1], "seed [1] is not a number"),
        ({"a": 1}, "seed {'a': 1} is not a number"),
        (object(), "is not a number"),
        (float("nan"), "seed nan is not a number"),
        (float("inf"), "seed inf is outside"),
        (float("-inf"), "seed -inf is outside"),
        (np.float64("nan"), "is not a number"),
        ("abc", "seed 'abc' is not a number"),
        ("NaN", "seed NaN is not a number"),
        ("Infinity", "seed Infinity is outside"),
        ("-inf", "seed -inf is outside"),
        ("1e400", "seed 1e400 is outside"),
        ("1e999999999", "is outside"),
        ("1e-999999999", "is not a whole number"),
        ("1e-99999999999999999999", "is not a whole number"),  # past Decimal's exponents
        ("1e99999999999999999999", "is outside"),
        ("1" * 100_000 + ".5", "is outside"),
        ("1 2", "seed '1 2' is not a number"),
        ("0x10", "seed '0x10' is not a number"),
        ("1_000", "seed '1_000' is not a number"),
        ("12abc", "is not a number"),
        ("7\n8", "seed '7\\n8' is not a number"),  # one line, as repr writes it
        ("3.5", "seed 3.5 is not a whole number"),
        (b"12", "seed b'12' is not a number"),
    ],
    ids=lambda value: draw.shown(value)[:24],  # str() of 10**5000 raises
)
def test_check_seed_gives_the_message_whatever_it_is_given(seed, words):
    """Any value, however large or odd its type, is a ValueError naming it (at most 40
    characters of it) and the seeds the page takes: never OverflowError or a TypeError."""
    with pytest.raises(ValueError) as e:
        draw.check_seed(seed)
    message = str(e.value)
    assert words in message and message.endswith("type a whole number from 0 to 2,147,483,647")
    assert len(message) < 150 and "\n" not in message, message


@pytest.mark.parametrize(
    "seed, expected",
    [
        ("12", 12),
        (" 12 ", 12),
        ("+12", 12),
        ("12.0", 12),
        ("1e3", 1000),
        ("0e-99999999999999999999", 0),
        ("0", 0),
        (str(SEED_MAX), SEED_MAX),
        (np.int64(5), 5),
        (np.float32(6.0), 6),
        (7.0, 7),
    ],
)
def test_check_seed_takes_a_whole_number_however_written(seed, expected):
    got = draw.check_seed(seed)
    assert got == expected and type(got) is int


# --- what the page says ------------------------------------------------------------------------


def test_style_row_caption_is_true_in_each_mode(demo):
    """With a digit picked, the row's digits share the grid's first noise vector and generator,
    so the grid's top-left digit is the row's digit of that kind; with "any" the grid comes from
    the other generator, and the caption says so instead of promising the grid's style."""
    for digit, seed in ((3, 5), (8, 11)):
        first = grid_cells(demo.grid(str(digit), seed), 1)[0].astype(int)
        row = grid_cells(demo.styles(seed), 10).astype(int)
        assert np.abs(row[digit] - first).max() <= 2, (digit, seed)  # batch sizes: a grey level
        caption = pages.styles_caption(str(digit))
        assert "grid's first digit" in caption and "one style" in caption
    caption = pages.styles_caption(ANY)
    assert "conditional generator" in caption and "does not share their style" in caption
    assert "one style, ten digits" not in caption
    assert pages.styles_caption("12") == pages.styles_caption("7")  # a message says why


def test_new_digits_keeps_a_typed_seed_until_it_is_drawn():
    assert pages.next_seed(12345, None) == 12345  # typed before the first draw
    assert pages.next_seed(12345, 7) == 12345  # typed, not drawn yet
    assert pages.next_seed(12345.0, 7) == 12345
    for typed, drawn in ((7, 7), (3.5, 7), (None, 7), (-1, None), (SEED_MAX + 1, 7)):
        seeds = {pages.next_seed(typed, drawn) for _ in range(5)}
        assert all(0 <= s <= SEED_MAX and isinstance(s, int) for s in seeds), seeds
        assert len(seeds) > 1, f"New digits after {typed!r}: not a random seed ({seeds})"


def test_model_cards_and_their_scores():
    import json

    from dcgan import files

    text = pages.cards_markdown()
    shipped = files.shipped_dir()
    links = re.findall(r"\]\((https://[^)]+)\)", text)
    assert len(links) == 3, text
    for link in links:
        assert link.startswith(pages.CARDS_URL), link
        assert (shipped / link[len(pages.CARDS_URL) :]).is_file(), link
    for name in ("generator", "conditional"):
        scores = json.loads((shipped / name / "scores.json").read_text())["generated"]
        assert f"FID {scores['fid']:.2f}" in text and f"recall {scores['recall']:.2f}" in text
    assert "read as the digit asked 99." in text


def test_the_clothes_have_their_own_card():
    from dcgan import files

    text = pages.cards_markdown(kind=draw.CLOTHES)
    links = re.findall(r"\]\((https://[^)]+)\)", text)
    assert [link[len(pages.CARDS_URL) :] for link in links] == [
        "fashion/README.md",
        "fashion-classifier/README.md",
    ], text
    scores = json.loads((files.shipped_dir() / "fashion" / "scores.json").read_text())
    assert f"FID {scores['generated']['fid']:.2f}" in text and "read as the class asked 90." in text
    assert "Fashion-MNIST test images" in text and "digit" not in text.lower(), text


def test_cards_link_where_the_project_lives():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in Python 3.11+")
    source = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]["Source"]
    assert pages.CARDS_URL.startswith(source + "/")


def test_cards_without_scores_still_link(tmp_path):
    text = pages.cards_markdown(tmp_path)
    assert text.count(pages.CARDS_URL) == 3 and "FID" not in text.split("classifier")[0]


FASHION_NAMES = list(datasets.CLASS_NAMES[datasets.FASHION])


class StubDemo:
    """What `build` uses of a Demo, without TensorFlow: the shipped entries, with stand-ins
    for their generators."""

    image_side = 28
    entries = [
        draw.Models(draw.DIGITS, "G", "cG", draw.DIGIT_NAMES, datasets.MNIST, draw.DIGITS),
        draw.Models(draw.CLOTHES, None, "cG", FASHION_NAMES, datasets.FASHION, draw.CLOTHES),
    ]

    def show(self, choice, seed, to_seed, models=None):
        try:
            draw.check_seed(seed), draw.check_seed(to_seed, "to seed")
            entry = {e.name: e for e in self.entries}.get(draw.DIGITS if models is None else models)
            if entry is None:
                raise ValueError(f"draw {draw.shown(models)}: pick one of Digits, Clothes")
            draw.check_choice(choice, entry.choices)
        except ValueError as e:
            return None, None, None, f"**Cannot draw that:** {e}"
        image = np.zeros((4, 4), np.uint8)
        return image, image, image, f"Seed {seed}: {choice}"


@pytest.fixture(scope="module")
def page():
    pytest.importorskip("gradio", reason=GRADIO_SKIP)
    return pages.build(StubDemo())


def block(page, elem_id):
    (found,) = [b for b in page.blocks.values() if getattr(b, "elem_id", None) == elem_id]
    return found


def listeners(page, fn_name):
    return {
        (getattr(page.blocks.get(t[0]), "elem_id", None), t[1])
        for f in page.fns.values()
        if f.name == fn_name
        for t in f.targets
    }


def test_page_draws_a_typed_seed_without_enter(page):
    """Any change of a seed box draws, not only Enter: `change`, as Gradio's `input` event of a
    Textbox comes from key presses alone (Backspace, Delete and cut send none)."""
    events = listeners(page, "show")
    wanted = {("seed", "change"), ("to_seed", "change"), ("class", "change"), ("models", "change")}
    assert wanted <= events, events
    assert ("new", "click") in listeners(page, "new_seed_for")


MESSAGE, CLASS, NEW, CARDS, DRAWN = 5, 6, 7, 8, 9  # where `show`'s outputs are


def shows(seed, models=draw.DIGITS, choice="7", to_seed=2, noun="digits"):
    """The page's state once it shows `choice` of `models` from `seed`."""
    return {
        "models": models,
        "key": [models, choice, seed, to_seed],
        "seed": seed,
        "noun": noun,
        "ok": True,
    }


def test_page_message_names_the_seed_still_shown(page):
    """Typing 3.5 draws 3 on the way; the message about 3.5 says the digits are seed 3's."""
    show = page_show(page)
    out = show(draw.DIGITS, "7", 3.5, 2, shows(3))
    message = out[MESSAGE]
    assert "seed 3.5 is not a whole number" in message, message
    assert message.endswith("(the digits shown are still seed 3's)"), message
    assert out[DRAWN]["ok"] is False and out[DRAWN]["seed"] == 3
    assert show(draw.DIGITS, "7", 12, 2, shows(3))[DRAWN]["seed"] == 12  # what it now shows
    assert "still" not in show(draw.DIGITS, "7", -1, 2, None)[MESSAGE]  # nothing shown yet
    out = show(draw.CLOTHES, "Bag", "", 2, shows(3, draw.CLOTHES, "Bag", noun="clothes"))
    assert out[MESSAGE].startswith("**Cannot draw that:** seed is empty"), out[MESSAGE]
    assert out[MESSAGE].endswith("(the clothes shown are still seed 3's)"), out[MESSAGE]


def is_skip(value):
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


def test_a_change_that_draws_nothing_new_draws_nothing(page):
    """What New writes, an example fills in or a switch of "Draw" picks echoes as a change of
    the box or choice it wrote; the page already shows it, so it draws nothing again."""
    show = page_show(page)
    out = show(draw.DIGITS, "7", 3, 2, shows(3))
    assert all(is_skip(x) for x in out), out
    failed = {**shows(3), "ok": False}  # the message says what is wrong: draw 3 again
    assert not is_skip(show(draw.DIGITS, "7", 3, 2, failed)[0])


def test_switching_to_clothes_offers_their_classes_and_words(page):
    """Picking Clothes with a digit picked: the class choice becomes the clothes' (the first
    one picked), New and the cards are theirs, and nothing the page then says is of digits."""
    show = page_show(page)
    out = show(draw.CLOTHES, "7", 5, 6, shows(5))
    assert out[CLASS]["choices"] == FASHION_NAMES, out[CLASS]
    assert out[CLASS]["value"] == "T-shirt/top" and out[CLASS]["label"] == "Class"
    assert out[NEW]["value"] == "New clothes"
    assert "fashion/README.md" in out[CARDS] and out[MESSAGE] == "Seed 5: T-shirt/top"
    assert out[DRAWN]["models"] == draw.CLOTHES and out[DRAWN]["noun"] == "clothes"
    words = [out[3], out[4], out[CARDS], out[CLASS]["label"], out[NEW]["value"]]
    assert not [w for w in words if "digit" in w.lower()], words
    # a class the new entry has is kept; an unchanged entry leaves the choice alone
    assert show(draw.CLOTHES, "Bag", 5, 6, shows(5))[CLASS]["value"] == "Bag"
    assert is_skip(show(draw.CLOTHES, "Bag", 7, 6, shows(5, draw.CLOTHES, "Bag"))[CLASS])
    # back to digits: "any" and the digits' words again
    out = show(draw.DIGITS, "Bag", 5, 6, shows(5, draw.CLOTHES, "Bag", noun="clothes"))
    assert out[CLASS]["value"] == ANY and out[NEW]["value"] == "New digits"
    assert "digit" in out[3]


def test_page_passes_a_fraction_on_unrounded(page):
    for elem_id in ("seed", "to_seed"):
        box = block(page, elem_id)
        assert box.preprocess("3.5") == "3.5", elem_id


def page_show(page):
    (show,) = {f.fn for f in page.fns.values() if f.name == "show" and len(f.inputs) == 5}
    return show


@pytest.mark.parametrize(
    "seed",
    ["abc", "NaN", "Infinity", "-inf", "1e400", "", "1_000", "0x10", ["1"], 10**400],
    ids=lambda value: draw.shown(value)[:24],
)
def test_every_typed_seed_reaches_the_pages_message(page, seed):
    """What the browser sends for a seed box goes through Gradio's own preprocessing (a
    gr.Number would refuse text with a blank Gradio error) into `show`, which answers with
    the page's one-line message, keeping the digits shown."""
    show = page_show(page)
    for elem_id, name in (("seed", "seed"), ("to_seed", "to seed")):
        box = block(page, elem_id)
        typed = box.preprocess(seed)
        args = ("7", typed, "2") if elem_id == "seed" else ("7", "1", typed)
        out = show(draw.DIGITS, *args, shows(5))
        message = out[MESSAGE]
        assert message.startswith(f"**Cannot draw that:** {name} "), message
        assert "type a whole number from 0 to 2,147,483,647" in message
        assert message.endswith("(the digits shown are still seed 5's)") and "\n" not in message


@pytest.mark.parametrize("choice", ["12", "", None, ["7"], 7, {"a": 1}])
def test_every_digit_choice_reaches_the_pages_message(page, choice):
    """A digit not among the choices (sent to the page's API) reaches `check_choice`, not
    Gradio's error for a value outside the radio's choices; so does a class of clothes."""
    radio = block(page, "class")
    show = page_show(page)
    message = show(draw.DIGITS, radio.preprocess(choice), "1", "2", None)[MESSAGE]
    assert message.startswith("**Cannot draw that:** digit") and "pick one of 0-9" in message
    clothes = shows(1, draw.CLOTHES, "Bag", noun="clothes")
    message = show(draw.CLOTHES, radio.preprocess(choice), "1", "2", clothes)[MESSAGE]
    assert message.startswith("**Cannot draw that:** class") and "T-shirt/top, Trouser" in message
    assert "any" not in message  # the clothes have no generator of any image


def test_choices_pass_any_value_after_an_update_too(page):
    """Gradio makes a new instance of a component's class for a session once a function updates
    it (an example filled in, a new entry's classes): that one passes anything on too, and is
    drawn in the page as the radio it is."""
    for elem_id in ("models", "class"):
        radio = block(page, elem_id)
        renewed = radio.__class__(**{**radio.constructor_args, "render": False})
        assert renewed.preprocess("Sneaker") == "Sneaker" and renewed.preprocess(7) == 7
        assert renewed.get_block_name() == "radio"
    stub = Path(pages.__file__).with_suffix(".pyi")  # what Gradio's metaclass would write
    assert not stub.exists(), f"building the page wrote {stub}"


@pytest.mark.parametrize("models", ["Cats", "", None, ["Digits"], 7])
def test_every_draw_choice_reaches_the_pages_message(page, models):
    message = page_show(page)(block(page, "models").preprocess(models), "7", "1", "2", None)
    assert message[MESSAGE].startswith("**Cannot draw that:** draw "), message[MESSAGE]
    assert "pick one of Digits, Clothes" in message[MESSAGE]


def test_seed_boxes_show_what_new_digits_and_the_examples_write(page):
    for elem_id in ("seed", "to_seed"):
        box = block(page, elem_id)
        assert box.max_lines == 1  # one line: an <input>, typed into like a number box
        assert box.postprocess(pages.next_seed("x", None)).isdigit()
        assert box.postprocess(123) == "123"
    assert [block(page, "seed").value, block(page, "to_seed").value] == ["1", "2"]


def test_page_says_what_it_does(page):
    intro = block(page, "intro").value
    for words in ("draws as you type", "emptied box", "New digits", "never rounded", "3.5"):
        assert words in intro, words
    examples = block(page, "examples")
    assert len(examples.samples) == len(pages.EXAMPLES) >= 3
    assert {models for models, *_ in pages.EXAMPLES} == {draw.DIGITS, draw.CLOTHES}
    for models, choice, seed, to_seed in pages.EXAMPLES:
        assert StubDemo().show(choice, seed, to_seed, models)[0] is not None
    assert pages.CARDS_URL in block(page, "cards").value
    assert block(page, "styles_caption").value == pages.styles_caption(ANY)
    assert block(page, "models").choices == [(m, m) for m in (draw.DIGITS, draw.CLOTHES)]


def test_page_deletes_the_images_it_drew(page):
    """Gradio keeps each drawn image as a file: the page has it delete them after a while."""
    every, age = page.delete_cache
    assert (every, age) == pages.CACHE_DELETE and 0 < every <= 600 and 0 < age <= 3600


def test_launch_caps_uploads():
    options = demo_cli.launch_options("127.0.0.1", 7860)
    assert options["max_file_size"] == demo_cli.MAX_FILE_SIZE
    assert options["share"] is False and options["server_name"] == "127.0.0.1"


def post(url, body, content_type):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_served_page_refuses_uploads_and_answers_hostile_input_in_the_page():
    """The page launched as `main` launches it, on 127.0.0.1: an upload larger than the cap is
    refused (413); a hostile digit or seed sent to its API comes back as the page's message,
    not a Gradio error, and the server stays up."""
    pytest.importorskip("gradio", reason=GRADIO_SKIP)
    page = pages.build(StubDemo())
    port = free_port()
    page.launch(**demo_cli.launch_options("127.0.0.1", port))
    base = f"http://127.0.0.1:{port}/gradio_api"
    try:
        boundary = "demo-test-boundary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + b"\0" * 2_000_000
            + f"\r\n--{boundary}--\r\n".encode()
        )
        status, text = post(f"{base}/upload", body, f"multipart/form-data; boundary={boundary}")
        assert status == 413 and "maximum allowed size" in text, (status, text[:200])
        for data, words in (
            (["Digits", "7", "abc", "2"], "seed 'abc' is not a number"),
            (["Digits", "7", "1", "1e400"], "to seed 1e400 is outside"),
            (["Digits", "7", "", "2"], "seed is empty"),
            (["Digits", "7", ["1"], "2"], "is not a number"),  # the Textbox makes it "['1']"
            (["Digits", "12", "1", "2"], "pick one of 0-9"),
            (["Digits", None, "1", "2"], "pick one of 0-9"),
            (["Cats", "7", "1", "2"], "draw 'Cats': pick one of Digits, Clothes"),
            ([None, "7", "1", "2"], "draw None: pick one of Digits, Clothes"),
        ):
            status, text = post(f"{base}/call/show", json.dumps({"data": data}).encode(), JSON)
            assert status == 200, (data, status, text)
            event = json.loads(text)["event_id"]
            with urllib.request.urlopen(f"{base}/call/show/{event}", timeout=60) as r:
                answer = r.read().decode()
            assert "event: complete" in answer and words in answer, (data, answer)
            assert "**Cannot draw that:**" in answer, answer
        status, text = post(
            f"{base}/call/show", json.dumps({"data": ["Digits", "7", "5", "6"]}).encode(), JSON
        )
        assert status == 200, "the server is still up"
    finally:
        page.close()


JSON = "application/json"


def test_float32_compiled_copy_draws_the_same_digits():
    """What the page runs (a float32 copy, XLA-compiled) draws what the saved generator does."""
    from dcgan import files, sampling

    g = sampling.load_generator(files.resolve("conditional_generator")[0])
    copy = draw.float32_copy(g)
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
    compiled = draw.Compiled.wrap(copy)
    assert sampling.is_conditional(compiled) and sampling.latent_dim(
        compiled
    ) == sampling.latent_dim(g)
    a, b, c = (sampling.generate(m, 16, seed=3, classes=7).astype(int) for m in (g, copy, compiled))
    assert np.abs(a - b).mean() < 2 and np.abs(b - c).max() <= 1


# --- bad command lines: one line, exit 2 ------------------------------------------------------


def run_main(argv, capsys):
    with pytest.raises(SystemExit) as e:
        run_cli(demo_cli.main, argv)
    err = capsys.readouterr().err.strip()
    return e.value.code, err


def test_busy_port(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, err = run_main(["--port", str(port)], capsys)
    assert (
        code == 2
        and err.startswith("error: cannot serve on 127.0.0.1")
        and "pass another --port" in err
    )
    assert len(err.splitlines()) == 1


def time_wait_port():
    """A port whose server has stopped after closing a connection first (as a stopped demo
    with a browser tab open): only a TIME_WAIT socket is left on it."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port)) as client:
        conn, _ = server.accept()
        conn.close()  # the server side closes first: its end waits in TIME_WAIT
        server.close()
        client.recv(1)  # the close has arrived
    return port


def test_a_restarted_demo_serves_where_only_time_wait_is_left(capsys):
    port = time_wait_port()
    with socket.socket() as plain:  # what the old check did: refused, though nothing listens
        with pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))
    demo_cli.check_port("127.0.0.1", port)  # accepted
    with socket.socket() as s:  # and a listener there is still one line, exit 2
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
        code, err = run_main(["--port", str(port)], capsys)
    assert code == 2 and err.startswith(f"error: cannot serve on 127.0.0.1:{port}"), err
    assert "stop what uses this one" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("checkout", [True, False])
def test_without_gradio_the_hint_fits_the_install(checkout, tmp_path, monkeypatch, capsys):
    package = tmp_path / ("repo" if checkout else "site-packages") / "dcgan"
    package.mkdir(parents=True)
    (package / "demo.py").write_text("")
    if checkout:
        (package.parent / "pyproject.toml").write_text("")
    monkeypatch.setattr(demo_cli, "__file__", str(package / "demo.py"))
    real_find_spec = demo_cli.importlib.util.find_spec
    monkeypatch.setattr(
        demo_cli.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gradio" else real_find_spec(name, *a),
    )
    code, err = run_main(["--port", str(free_port())], capsys)
    assert code == 2 and len(err.splitlines()) == 1, err
    if checkout:
        assert err.endswith(f'pip install -e ".[demo]" in {package.parent}'), err
    else:
        assert err.endswith('the demo needs Gradio: pip install "dcgan[demo]"'), err
        assert "-e" not in err


@pytest.mark.parametrize(
    "host, words",
    [
        ("999.1.1.1", "is not an address this machine can serve on"),
        ("nohost.invalid", "is not an address this machine can serve on"),
        ("::zz", "is not an address this machine can serve on"),
        ("", "is not an address this machine can serve on"),
        ("192.0.2.1", "is not an address of this machine"),  # TEST-NET-1: no machine's
    ],
)
def test_bad_host(capsys, host, words):
    """A host that does not resolve, or is not this machine's, names the host and asks for
    another --host, not another --port."""
    code, err = run_main(["--host", host, "--port", str(free_port())], capsys)
    assert code == 2 and err.startswith(f"error: --host {host!r} {words}"), err
    assert "pass another --host" in err and "--port" not in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.slow
def test_bad_host_from_the_command_line(python_cli):
    """The real `python -m dcgan.demo --host 999.1.1.1`: one line, exit 2, no traceback."""
    proc = python_cli("-m", "dcgan.demo", "--host", "999.1.1.1", "--port", free_port())
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().startswith("error: --host '999.1.1.1'"), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("flag", ["--model", "--conditional-model"])
def test_model_that_does_not_load(tmp_path, capsys, flag):
    pytest.importorskip("gradio", reason=GRADIO_SKIP)  # without it, main() says so first
    bad = tmp_path / "generator.h5"
    bad.write_bytes(b"not a model")
    code, err = run_main([flag, str(bad), "--port", str(free_port())], capsys)
    assert code == 2 and err.startswith(f"error: {flag} {bad}") and "not a loadable" in err, err
    assert len(err.splitlines()) == 1


def test_wrong_kind_of_generator(capsys):
    pytest.importorskip("gradio", reason=GRADIO_SKIP)
    from dcgan import files

    conditional = files.resolve("conditional_generator")[0]
    code, err = run_main(["--model", str(conditional), "--port", str(free_port())], capsys)
    assert code == 2 and "is not a generator that draws any image" in err, err


@pytest.mark.slow
def test_bad_model_from_the_command_line(tmp_path, python_cli):
    """The real `python -m dcgan.demo`: one line on stderr, exit 2, no traceback."""
    pytest.importorskip("gradio", reason=GRADIO_SKIP)
    missing = tmp_path / "nowhere.h5"
    proc = python_cli("-m", "dcgan.demo", "--model", missing, "--port", free_port())
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().startswith("error: --model") and "not found" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


# --- the page in a real browser ---------------------------------------------------------------


def find_chromium():
    browser = next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
    )
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    """`python -m dcgan.demo` on a free port, started once for the module."""
    yield from serve(tmp_path_factory)


def serve(tmp_path_factory, *flags):
    """Yields the address of `python -m dcgan.demo *flags` on a free port, then stops it."""
    pytest.importorskip("gradio", reason=GRADIO_SKIP)
    port = free_port()
    log = tmp_path_factory.mktemp("demo") / "stderr.txt"
    with open(log, "w") as err:
        proc = start_python("-m", "dcgan.demo", "--port", port, *flags, stderr=err)
    watchdog = threading.Timer(300, proc.kill)  # a start that hangs fails instead
    watchdog.start()
    try:
        line = proc.stdout.readline()  # the one line it prints once it serves
        watchdog.cancel()
        assert "serving the demo on" in line, f"demo did not start: {line}{log.read_text()}"
        yield f"http://127.0.0.1:{port}/"
    finally:
        watchdog.cancel()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    found = find_chromium()
    if found is None:
        pytest.skip(BROWSER_SKIP)
    webdriver = pytest.importorskip("selenium.webdriver", reason=BROWSER_SKIP)
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(found[1]), options=options)  # no driver download
    yield driver
    driver.quit()


def wait_for(check, what, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = check()
        except Exception:  # the element is being re-rendered
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def pick(driver, elem_id, value):
    """Clicks the radio button `value` of the radio group `elem_id`, as a visitor does."""
    from selenium.webdriver.common.by import By

    radio = driver.find_element(By.CSS_SELECTOR, f"#{elem_id} input[value='{value}']")
    radio.find_element(By.XPATH, "..").click()


def picked(driver, elem_id):
    """(the value checked in radio group `elem_id`, all of its values)."""
    from selenium.webdriver.common.by import By

    radios = driver.find_elements(By.CSS_SELECTOR, f"#{elem_id} input[type='radio']")
    checked = [r.get_attribute("value") for r in radios if r.is_selected()]
    return (checked[0] if checked else None), [r.get_attribute("value") for r in radios]


def image_src(driver, elem_id):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f"#{elem_id} img").get_attribute("src")


def read_image(src, mode="L"):
    """The picture an <img> shows, as a uint8 greyscale (or `mode`) array."""
    from PIL import Image

    if src.startswith("data:"):
        data = base64.b64decode(src.split(",", 1)[1])
    else:
        with urllib.request.urlopen(src, timeout=30) as r:  # the demo, on this machine
            data = r.read()
    return np.asarray(Image.open(io.BytesIO(data)).convert(mode))


@pytest.mark.slow
@pytest.mark.browser
def test_page_draws_sevens(browser, page_url, classifier):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    message = lambda: browser.find_element(By.ID, "message").text
    browser.get(page_url)
    wait_for(lambda: message().startswith("Seed 1:"), "the first grid")

    pick(browser, "class", "7")
    wait_for(lambda: "64 7s" in message(), "the grid of 7s")
    before, before_text = image_src(browser, "grid"), message()
    browser.find_element(By.ID, "new").click()
    wait_for(
        lambda: (
            image_src(browser, "grid") != before
            and "64 7s" in message()
            and message() != before_text
        ),
        "new digits",
    )

    image = read_image(image_src(browser, "grid"))
    assert image.shape == (SCALE * (GRID * CELL + 2),) * 2
    digits = grid_cells(image[::SCALE, ::SCALE], GRID, GRID)
    share = np.mean(read_as(digits, classifier) == 7)
    assert share >= 0.9, f"the classifier reads {share:.0%} of the page's grid as 7s ({message()})"
    if os.environ.get("DCGAN_DEMO_SCREENSHOT"):
        browser.save_screenshot(os.environ["DCGAN_DEMO_SCREENSHOT"])

    # a seed out of range: a message in the page, the digits stay, no traceback
    seed = browser.find_element(By.CSS_SELECTOR, "#seed input")
    seed.send_keys(Keys.CONTROL, "a")
    seed.send_keys("-5", Keys.ENTER)
    wait_for(lambda: "from 0 to 2,147,483,647" in message(), "the message about the seed")
    assert "seed -5 is outside" in message()
    assert "Traceback" not in browser.page_source
    assert read_image(image_src(browser, "grid")).shape == image.shape


@pytest.mark.slow
@pytest.mark.browser
def test_page_seeds_as_typed_new_digits_and_examples(browser, page_url):
    """A typed seed draws without Enter; a fraction is a message; New digits shows the seed it
    drew; an example draws what it names; with "any" the style row says whose it is."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    message = lambda: browser.find_element(By.ID, "message").text
    browser.get(page_url)
    wait_for(lambda: message().startswith("Seed 1:"), "the first grid")
    caption = browser.find_element(By.ID, "styles_caption").text
    assert "conditional generator" in caption and "does not share" in caption, caption
    cards = browser.find_element(By.ID, "cards")
    hrefs = [a.get_attribute("href") for a in cards.find_elements(By.TAG_NAME, "a")]
    assert len(hrefs) == 3 and all(h.startswith(pages.CARDS_URL) for h in hrefs), hrefs

    seed = browser.find_element(By.CSS_SELECTOR, "#seed input")

    def type_seed(text):
        seed.send_keys(Keys.CONTROL, "a")
        seed.send_keys(Keys.BACKSPACE)
        seed.send_keys(text)  # no Enter

    type_seed("12345")
    wait_for(lambda: message().startswith("Seed 12345:"), "the typed seed, drawn without Enter")
    seed.send_keys(Keys.BACKSPACE)  # no key press for Gradio's `input`: the change draws
    wait_for(lambda: message().startswith("Seed 1234:"), "the seed shortened by Backspace")
    grid = image_src(browser, "grid")
    type_seed("3.5")
    wait_for(lambda: "seed 3.5 is not a whole number" in message(), "the message about 3.5")
    # typing draws "3" on the way (unless a later keystroke overtook it), never 3.5 rounded to 4
    shown = re.search(r"the digits shown are still seed (\d+)'s", message())
    assert shown and shown.group(1) in ("3", "1234"), message()
    if shown.group(1) == "1234":
        assert image_src(browser, "grid") == grid

    # text, an overflowing number, an empty box (no Enter pressed): the page's message, never
    # Gradio's error popup
    for typed, words in (
        ("abc", "seed 'abc' is not a number"),
        ("1e400", "seed 1e400 is outside"),
        ("-inf", "seed -inf is outside"),
        ("", "seed is empty"),
    ):
        type_seed(typed)
        wait_for(lambda words=words: words in message(), f"the message about {typed!r}")
        toasts = browser.find_elements(By.CSS_SELECTOR, "[data-testid='toast-body'], .toast-body")
        assert not toasts, [t.text for t in toasts]
        assert "Traceback" not in browser.page_source
    type_seed("3.5")
    wait_for(lambda: "seed 3.5 is not a whole number" in message(), "the message about 3.5")

    browser.find_element(By.ID, "new").click()
    wait_for(
        lambda: re.match(r"Seed (\d+):", message()) and seed.get_attribute("value") != "3.5",
        "new digits",
    )
    drawn = re.match(r"Seed (\d+):", message()).group(1)
    assert seed.get_attribute("value") == drawn, "New digits shows the seed it drew"

    def example(i):
        examples = browser.find_element(By.ID, "examples")
        examples.find_elements(By.CSS_SELECTOR, "tbody tr, button")[i].click()

    models, choice, number, to_seed = pages.EXAMPLES[2]
    example(2)
    wait_for(
        lambda: message().startswith(f"Seed {number}: 64 {choice}s; walk to seed {to_seed}"),
        "the example's digits",
    )
    assert picked(browser, "class")[0] == choice and seed.get_attribute("value") == str(number)
    models, choice, number, to_seed = pages.EXAMPLES[3]
    assert models == draw.CLOTHES
    example(3)
    wait_for(
        lambda: message().startswith(
            f"Seed {number}: 64 images of class {choice}; walk to seed {to_seed}"
        ),
        "the example's clothes",
    )
    assert picked(browser, "models")[0] == draw.CLOTHES and picked(browser, "class") == (
        choice,
        FASHION_NAMES,
    )


@pytest.mark.slow
@pytest.mark.browser
def test_page_draws_clothes(browser, page_url):
    """Clothes: their classes by name, a Sneaker asked for is drawn (read so by the shipped
    Fashion-MNIST classifier) and the message says so; nothing the page then says of what it
    draws is of digits; back to Digits, "any" again."""
    from selenium.webdriver.common.by import By

    from dcgan import files

    message = lambda: browser.find_element(By.ID, "message").text
    text = lambda elem_id: browser.find_element(By.ID, elem_id).text
    browser.get(page_url)
    wait_for(lambda: message().startswith("Seed 1:"), "the first grid")
    assert picked(browser, "models") == (draw.DIGITS, [draw.DIGITS, draw.CLOTHES])

    pick(browser, "models", draw.CLOTHES)
    wait_for(lambda: "64 images of class T-shirt/top" in message(), "the first class of clothes")
    assert picked(browser, "class") == ("T-shirt/top", FASHION_NAMES)
    pick(browser, "class", "Sneaker")
    wait_for(lambda: message().startswith("Seed 1: 64 images of class Sneaker;"), "sneakers")
    fashion = classifiers.load_classifier(files.shipped("fashion_classifier"))
    image = read_image(image_src(browser, "grid"))
    assert image.shape == (SCALE * (GRID * CELL + 2),) * 2
    share = np.mean(read_as(grid_cells(image[::SCALE, ::SCALE], GRID, GRID), fashion) == 7)
    assert share >= 0.9, f"the classifier reads {share:.0%} of the page's grid as sneakers"

    new = browser.find_element(By.ID, "new")
    assert new.text == "New clothes"
    label = browser.find_element(By.CSS_SELECTOR, "#class [data-testid='block-info']").text
    words = [label, text("styles_caption"), text("walk_caption"), text("cards"), message()]
    assert label == "Class" and not [w for w in words if "digit" in w.lower()], words
    hrefs = [
        a.get_attribute("href")
        for a in browser.find_element(By.ID, "cards").find_elements(By.TAG_NAME, "a")
    ]
    assert hrefs == [
        pages.CARDS_URL + "fashion/README.md",
        pages.CARDS_URL + "fashion-classifier/README.md",
    ]
    new.click()
    wait_for(
        lambda: "64 images of class Sneaker" in message() and not message().startswith("Seed 1:"),
        "new sneakers",
    )

    pick(browser, "models", draw.DIGITS)
    wait_for(lambda: "64 digits from the unconditional generator" in message(), "digits again")
    assert picked(browser, "class")[0] == ANY and browser.find_element(By.ID, "new").text == (
        "New digits"
    )


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory):
    """A tiny conditional run (2 steps) on a folder of 32-pixel colour PNGs in two class
    subfolders, as `python -m dcgan.train` makes it."""
    from PIL import Image

    root = tmp_path_factory.mktemp("colours") / "pictures"
    rng = np.random.default_rng(0)
    for cls, channel in (("red", 0), ("blue", 2)):
        (root / cls).mkdir(parents=True)
        for i in range(8):
            pixels = rng.integers(0, 80, (40, 40, 3), dtype=np.uint8)
            pixels[..., channel] += 170
            Image.fromarray(pixels).save(root / cls / f"{i}.png")
    out = root.parent / "run"
    args = "--conditional --image-size 32 --channels 3 --epochs 1 --steps-per-epoch 2"
    args += " --batch-size 8 --quiet --jit-compile off"
    proc = run_python("-m", "dcgan.train", "--data", root, "--out", out, *args.split())
    assert proc.returncode == 0, f"training on the folder failed:\n{proc.stderr}"
    return out


@pytest.fixture(scope="module")
def colour_page_url(tmp_path_factory, colour_run):
    yield from serve(tmp_path_factory, "--conditional-model", colour_run / "generator.h5")


@pytest.mark.slow
@pytest.mark.browser
def test_page_draws_a_colour_folder_run(browser, colour_page_url):
    """A run on a folder of colour pictures, given with --conditional-model: the page opens on
    it, offers its classes by the names of its folders (no "any": no such generator was
    given), draws 32x32 colour images of the class picked and says what it knows of it."""
    from selenium.webdriver.common.by import By

    message = lambda: browser.find_element(By.ID, "message").text
    browser.get(colour_page_url)
    wait_for(lambda: message().startswith("Seed 1: 64 images of class blue;"), "the first grid")
    assert picked(browser, "models") == (draw.YOURS, [draw.YOURS, draw.DIGITS, draw.CLOTHES])
    assert picked(browser, "class") == ("blue", ["blue", "red"])
    cards = browser.find_element(By.ID, "cards").text
    assert "32x32 colour" in cards and "2 classes named by its run's settings: blue, red" in cards
    assert browser.find_element(By.ID, "new").text == "New images"
    before = image_src(browser, "grid")
    pick(browser, "class", "red")
    wait_for(lambda: message().startswith("Seed 1: 64 images of class red;"), "the red class")
    wait_for(lambda: image_src(browser, "grid") != before, "the red grid")
    image = read_image(image_src(browser, "grid"), "RGB")
    side = draw.grid_side(32)
    assert image.shape == (side, side, 3), image.shape
    spread = image.astype(int).max(axis=2) - image.astype(int).min(axis=2)
    assert spread.max() > 30, "the page shows the run's colours, not grey"
    assert "digit" not in browser.find_element(By.ID, "styles_caption").text.lower()


def test_the_class_choice_is_the_conditional_generators(tmp_path):
    """A conditional generator of a folder run is offered first, as "Your models", with its
    classes by name (any case) and no "any" (no generator of any image was given); it draws
    any of them, its style row shows at most STYLES of them, and the page says what it knows
    of them: the names and the image shape, from the run's settings. The shipped entries stay."""
    from dcgan.models import build_pair

    names = [f"Kind {i}" for i in range(12)]
    (tmp_path / "config.json").write_text(json.dumps({"conditional": True, "train_classes": names}))
    build_pair(conditional=True, classes=12)[0].save(tmp_path / "generator.h5")
    demo = Demo.load(conditional_model=str(tmp_path / "generator.h5"))
    assert [e.name for e in demo.entries] == [draw.YOURS, draw.DIGITS, draw.CLOTHES]
    assert demo.choices == names and demo.entries[0].noun == "images"
    grid, _, styles, message = demo.show("kind 11", 3, 4)
    assert grid is not None, message
    assert message.startswith("Seed 3: 64 images of class Kind 11;"), message
    np.testing.assert_array_equal(
        demo.images("KIND 11", 3, n=4),
        demo.sampling.generate(demo.entries[0].conditional, 4, seed=3, classes=11),
    )
    assert styles.shape[1] == draw.scale_for(28) * (draw.STYLES * 30 + 2)
    for bad in ("7", "Kind 12", "cat", ANY):
        message = demo.show(bad, 3, 4)[-1]
        assert message.startswith("**Cannot draw that:** class") and "Kind 0, Kind 1" in message
    card = pages.card_for(demo.entries[0])
    assert "28x28 greyscale" in card and "12 classes named by its run's settings" in card, card
    assert "Kind 0, Kind 1" in card and "Any image" not in card
    assert "digit" not in pages.styles_caption("Kind 0", demo.entries[0]).lower()
    assert draw.check_choice(" 7 ") == 7 and draw.check_choice("ANY") is None
    assert demo.show("7", 1, 2, models="digits")[-1].startswith("Seed 1: 64 7s")
    assert pages.build(demo) is not None  # the page offers them


def test_a_run_without_settings_has_classes_by_number(tmp_path):
    """No config.json beside a generator: its classes are numbers, and the page says why,
    rather than guessing them from a file's name."""
    from dcgan.models import build_pair

    folder = tmp_path / "fashion_mnist_run"  # a name is no evidence
    folder.mkdir()
    build_pair(conditional=True, classes=3)[0].save(folder / "generator.h5")
    demo = Demo.load(conditional_model=str(folder / "generator.h5"))
    yours = demo.entries[0]
    assert yours.choices == ["0", "1", "2"] and yours.noun == "images" and not yours.digits
    assert "0-2 by number: no run settings (config.json)" in pages.card_for(yours)
    assert demo.show("2", 1, 2)[-1].startswith("Seed 1: 64 images of class 2;")


def test_clothes_are_drawn_as_asked(demo):
    """The shipped Fashion-MNIST generator, under Clothes: the class asked for by name, read
    as it by the shipped Fashion-MNIST classifier; a style row of the ten classes."""
    from dcgan import files

    fashion = classifiers.load_classifier(files.shipped("fashion_classifier"))
    clothes = demo.entry(draw.CLOTHES)
    assert clothes.choices == FASHION_NAMES and clothes.noun == "clothes"
    grid, walk, row, message = demo.show("sneaker", 5, 6, models="clothes")
    assert message.startswith("Seed 5: 64 images of class Sneaker; walk to seed 6"), message
    cells = grid_cells(grid[::SCALE, ::SCALE], GRID, GRID)
    share = np.mean(read_as(cells, fashion) == FASHION_NAMES.index("Sneaker"))
    assert share >= 0.9, f"the Fashion-MNIST classifier reads {share:.0%} as sneakers"
    styles = grid_cells(row[::SCALE, ::SCALE], 10)
    assert np.mean(read_as(styles, fashion) == np.arange(10)) >= 0.7
    assert demo.show(ANY, 5, 6, models="Clothes")[-1].endswith(
        "pick one of T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, "
        "Ankle boot"
    )
