"""``thinkvl model init --family NAME`` writes an ordinary Hugging Face folder."""

from __future__ import annotations

from typer.testing import CliRunner

from thinkvl.cli import app


def test_model_init_family_writes_a_loadable_folder(tmp_path):
    out = tmp_path / "qwen25"
    result = CliRunner().invoke(app, ["model", "init", "--family", "qwen2_5_vl", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "family qwen2_5_vl" in result.output
    from transformers import AutoModelForImageTextToText, AutoProcessor

    assert type(AutoModelForImageTextToText.from_pretrained(out)).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert AutoProcessor.from_pretrained(out).chat_template.startswith("{% set image_count")


def test_model_init_with_another_shipped_template(tmp_path):
    out = tmp_path / "q3t"
    result = CliRunner().invoke(app, ["model", "init", "--family", "qwen3_vl", "--template", "qwen3_vl_thinking",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    from transformers import AutoProcessor

    from thinkvl.model.families.chat import thinking

    assert thinking(AutoProcessor.from_pretrained(out)).mode == "opens_think"


def test_model_init_unknown_or_unsupported_family_says_why(tmp_path):
    for family, words in (("kimi_vl", "trust_remote_code"), ("nope", "supported")):
        result = CliRunner().invoke(app, ["model", "init", "--family", family, "--out", str(tmp_path / family)])
        assert result.exit_code != 0
        assert words in result.output
        assert not (tmp_path / family).exists()
