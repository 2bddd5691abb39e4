"""Shared fixtures: the embedded default model and a tiny model built in-process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("GRAM_RR_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only benchmark files beside the checkout (``../shared/data``)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"benchmark data not found at {SHARED_DATA}; set GRAM_RR_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def smollm2_dir() -> str:
    """The embedded SmolLM2-135M-Instruct, converted to a safetensors folder (cached)."""
    from gram_rr.models import resolve_model

    return resolve_model("smollm2-135m-instruct")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, smollm2_dir: str) -> str:
    """A randomly initialised 2-layer Llama with SmolLM2's tokenizer and chat template."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return str(path)


# ---- engine fixtures (owner: engines) -------------------------------------------------------
# One engine of each kind per test session; tests that use them share the loaded model. Both run
# in bfloat16 unless a test asks for another dtype by indirect parametrization, e.g.
# ``pytest.mark.parametrize("vllm_engine", ["float32"], indirect=True)``: pytest then closes the
# engine of the other dtype before starting this one, so one vLLM engine runs at a time.


@pytest.fixture(scope="session")
def vllm_engine(request: pytest.FixtureRequest, smollm2_dir: str):
    """A vLLM engine on SmolLM2 (eager: starts ~3x faster), closed at the end of the session."""
    from gram_rr.engines import EngineConfig
    from gram_rr.engines.vllm import VLLMEngine

    dtype = getattr(request, "param", "bfloat16")
    engine = VLLMEngine(
        EngineConfig(
            backend="vllm", model=smollm2_dir, dtype=dtype, enforce_eager=True, max_model_len=2048, kv_cache_gib=0.5
        )
    )
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def hf_engine(request: pytest.FixtureRequest, smollm2_dir: str):
    """A transformers engine on SmolLM2."""
    from gram_rr.engines import EngineConfig
    from gram_rr.engines.hf import HFEngine

    dtype = getattr(request, "param", "bfloat16")
    engine = HFEngine(EngineConfig(backend="hf", model=smollm2_dir, dtype=dtype, hf_batch_size=16))
    yield engine
    engine.close()
