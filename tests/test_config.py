import pytest

from thinkvl.config import ConfigError, Section, build_config, load_config


class Rl(Section):
    clip_low: float = 0.2
    clip_high: float = 0.28
    group_size: int = 8


class Recipe(Section):
    seed: int = 0
    rl: Rl = Rl()


def test_yaml_recipe_and_dotted_override(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("seed: 3\nrl:\n  group_size: 4\n")
    cfg = load_config(Recipe, path, ["rl.clip_high=0.3"])
    assert (cfg.seed, cfg.rl.group_size, cfg.rl.clip_high, cfg.rl.clip_low) == (3, 4, 0.3, 0.2)


def test_unknown_key_names_key_and_choices():
    with pytest.raises(ConfigError) as err:
        build_config(Recipe, {}, ["rl.clip_hihg=0.3"])
    msg = str(err.value)
    assert "rl.clip_hihg" in msg and "clip_high" in msg


def test_wrong_value_names_key_value_and_expectation():
    with pytest.raises(ConfigError) as err:
        build_config(Recipe, {}, ["rl.group_size=many"])
    msg = str(err.value)
    assert "rl.group_size" in msg and "'many'" in msg and "integer" in msg


def test_unknown_key_in_yaml_is_an_error(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("rl:\n  clip_hi: 0.3\n")
    with pytest.raises(ConfigError, match="rl.clip_hi"):
        load_config(Recipe, path)


def test_malformed_override_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="key=value"):
        build_config(Recipe, {}, ["rl.clip_high"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(Recipe, tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not a section"):
        build_config(Recipe, {}, ["seed.x=1"])
