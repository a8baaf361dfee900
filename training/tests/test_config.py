import pytest

from gflowgr.config import load_config


def test_file_and_overrides(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('name = "x"\n[gflowgr]\nlam = 0.5\n[gflowgr.reward]\nexponent = 2.0\n')
    cfg = load_config(str(path), ["--gflowgr.reward.positive=3", "--sft.epochs=2", "--gflowgr.sampler=uniform"])
    assert (cfg.name, cfg.gflowgr.lam, cfg.gflowgr.reward.exponent, cfg.gflowgr.reward.positive) == ("x", 0.5, 2.0, 3.0)
    assert cfg.sft.epochs == 2 and cfg.gflowgr.sampler == "uniform" and cfg.run_dir.endswith("x")


@pytest.mark.parametrize("override, message", [
    ("--sft.epoch=2", "unknown setting sft.epoch"),
    ("--sft.epochs=two", "not a valid value"),
    ("--sft.patience=2.5", "expects an integer"),
    ("--gflowgr.sampler=greedy", "gflowgr.sampler 'greedy'"),
    ("--gflowgr.reward.floor=0", "R must stay positive"),
    ("sft.epochs=2", "must look like"),
])
def test_bad_settings_are_named(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(None, [override])
