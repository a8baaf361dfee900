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
    ("--export.notes=cards/missing.md", "export.notes 'cards/missing.md' is not a file"),
    ("--gflowgr.log_z=learned", "gflowgr.log_z .learned. must be head or trajectories"),
    ("--cm.batches=random", "cm.batches 'random' must be shuffled or by_length"),
    ("sft.epochs=2", "must look like"),
])
def test_bad_settings_are_named(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(None, [override])


def test_variants_override_the_finetuning_section(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('[gflowgr]\nlam = 0.5\n[variants.control]\nobjective = "sft"\n[variants.beta4.reward]\nexponent = 4.0\n')
    cfg = load_config(str(path), ["--only_variants=[\"beta4\"]"])
    assert cfg.variant("control").objective == "sft" and cfg.variant("control").lam == 0.5
    assert cfg.variant("beta4").reward.exponent == 4.0 and cfg.gflowgr.reward.exponent == 1.0
    assert cfg.only_variants == ["beta4"]


def test_variant_overrides_merge_setting_by_setting(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('[variants.db]\nobjective = "db"\n[variants.db.reward]\nexponent = 4.0\nsim_weight = 1.0\n')
    cfg = load_config(str(path), ["--variants.db.seed=2", "--variants.db.reward.exponent=2", "--variants.low.lr=1e-4",
                                  "--variants.low.objective=sft", "--variants.low.n_trajectories=1"])
    db, low = cfg.variant("db"), cfg.variant("low")
    assert (db.objective, db.seed, db.reward.exponent, db.reward.sim_weight) == ("db", 2, 2.0, 1.0)
    assert (low.lr, low.objective, low.n_trajectories) == (1e-4, "sft", 1)


@pytest.mark.parametrize("text, message", [
    ('[variants.x]\nsampler = "greedy"\n', "variants.x.sampler 'greedy'"),
    ('[variants.x]\nlamda = 1\n', "unknown setting variants.x.lamda"),
    ('variants = 3\n', "must be a table of tables"),
    ('only_variants = ["missing"]\n', "names an undefined variant"),
    # a comparison run is exported as variant:NAME of a defined variant, under a name the service accepts
    ('export.checkpoint = "x"\n[variants.x]\nseed = 2\n', "export.checkpoint 'x' must be"),
    ('export.checkpoint = "variant:"\n', "export.checkpoint 'variant:' must be"),
    ('export.checkpoint = "variant:../x"\n[variants.x]\nseed = 2\n', "export.checkpoint 'variant:../x' must be"),
    ('export.name = "../models/x"\n', "export.name '../models/x' must be a model name"),
    ('export.name = "Beauty Control"\n', "export.name 'Beauty Control' must be a model name"),
])
def test_bad_variants_are_named(tmp_path, text, message):
    path = tmp_path / "x.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_config(str(path))
