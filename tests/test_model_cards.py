"""The model cards follow the Hugging Face / Keras convention: a YAML metadata header whose
metric values are the ones in the scores.json beside them, the sections users look for, and
nothing that only means something inside this project's development."""

import json
import re

import pytest

from conftest import REPO

yaml = pytest.importorskip("yaml")

SHIPPED = REPO / "saved_models"
CARDS = {
    "generator": SHIPPED / "README.md",
    "conditional": SHIPPED / "conditional" / "README.md",
    "classifier": SHIPPED / "classifier.md",
}
SECTIONS = (
    "## Intended use",
    "## Out-of-scope use",
    "## Limitations",
    "## How to load",
    "## Training",
    "## Evaluation",
    "## Citation",
)


def header(card):
    text = card.read_text()
    assert text.startswith("---\n"), card
    meta, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(meta), body


def metrics(meta):
    results = meta["model-index"][0]["results"][0]
    return {m["type"]: m["value"] for m in results["metrics"]}


@pytest.mark.parametrize("name", CARDS)
def test_card_header_and_sections(name):
    meta, body = header(CARDS[name])
    assert meta["license"] == "cc-by-sa-3.0"
    assert meta["library_name"] == "keras"
    assert meta["datasets"] == ["mnist"]
    assert meta["tags"] and metrics(meta)
    for section in SECTIONS:
        assert section in body, (name, section)
    assert "keras.models.load_model(" in body
    assert "python -m dcgan." in body  # the training command
    for dev_only in (r"/work/", r"\.\./shared", r"\bsession\b", r"\bissue \d", r"/tmp/"):
        assert not re.search(dev_only, body), (name, dev_only)


@pytest.mark.parametrize("name", ["generator", "conditional"])
def test_card_metrics_are_the_scores_beside_it(name):
    meta, _ = header(CARDS[name])
    scores = json.loads((CARDS[name].parent / "scores.json").read_text())["generated"]
    card = metrics(meta)
    assert card["fid"] == pytest.approx(scores["fid"], abs=0.005)
    for key in ("classifier_score", "coverage", "precision", "recall"):
        assert card[key] == pytest.approx(scores[key], abs=0.005), key
    if name == "conditional":
        assert card["accuracy"] == pytest.approx(scores["agreement"], abs=5e-5)


def test_scores_and_configs_name_no_local_paths():
    for path in [*SHIPPED.rglob("*.json")]:
        text = path.read_text()
        assert "/work/" not in text and "../shared" not in text and "/tmp/" not in text, path
