"""A tiny, randomly initialised text-only causal LM (Llama) and its tokenizer, built
offline: the byte-level tokenizer of :mod:`tiny_llava` with a ChatML template that
takes string content, as text models' templates do. Its output is noise."""

from __future__ import annotations

from pathlib import Path

from support.tiny_llava import build_tokenizer, tiny_llama_config

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_tiny_causal_lm(seed: int = 0):
    """``(model, tokenizer)``: a random tiny ``LlamaForCausalLM`` on CPU in fp32."""
    import torch
    from transformers import LlamaForCausalLM

    tokenizer = build_tokenizer()
    tokenizer.chat_template = CHATML_TEMPLATE
    config = tiny_llama_config(tokenizer, max_positions=16384)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model, tokenizer


def save_tiny_causal_lm(folder: Path, seed: int = 0) -> Path:
    """Write a loadable model folder (config, weights, tokenizer) like a hub snapshot."""
    model, tokenizer = build_tiny_causal_lm(seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
