"""Each setting is declared once (dcgan/settings.py): the command line's flags, their defaults
and the checks all come from `Config`."""

import dataclasses

import pytest

from dcgan import settings, train
from dcgan.settings import Config, config_from_flags

from conftest import run_python


def test_every_setting_is_a_flag_with_configs_default():
    args = train.parser().parse_args([])
    cfg = config_from_flags(args)
    assert cfg == Config().checked()  # a flag left out is Config's default, arch defaults filled
    help_text = train.parser().format_help()
    for f in dataclasses.fields(Config):
        assert settings.flag(f.name) in help_text, f.name
        if f.default is not None and "{default}" in f.metadata["help"]:
            assert f"(default: {f.default}" in " ".join(help_text.split()), f.name


def test_flags_reach_the_config_under_their_own_names():
    argv = "--epochs 3 --batch-size 64 --lr 0.001 --targets hard --conditional --jit-compile off"
    cfg = config_from_flags(train.parser().parse_args(argv.split()))
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.targets) == (3, 64, 0.001, "hard")
    assert cfg.conditional is True and cfg.jit_compile is False
    # The reference's word for the targets still works as a flag.
    assert config_from_flags(train.parser().parse_args(["--labels", "hard"])).targets == "hard"


def test_a_run_saved_with_labels_reads_as_targets(tmp_path):
    (tmp_path / "config.json").write_text('{"labels": "hard", "arch": "dcgan", "epochs": 2}')
    assert Config.of_run(tmp_path).targets == "hard"


def test_settings_import_no_tensorflow():
    code = "import sys, dcgan.settings, dcgan.train; print('tensorflow' in sys.modules)"
    out = run_python("-c", code)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize(
    "name, value", [("epochs", 0), ("lr", float("nan")), ("targets", "fuzzy"), ("ema", 1.0)]
)
def test_bad_values_name_their_flag(name, value):
    with pytest.raises(ValueError, match=settings.flag(name)):
        Config(**{name: value}).checked()
