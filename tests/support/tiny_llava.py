"""A tiny, randomly initialised LLaVA and its processor, built offline.

Built the way transformers' own tests build one: a ``LlavaConfig`` around a tiny
``LlamaConfig`` and a tiny ``CLIPVisionConfig``. The tokenizer is a real byte-level
BPE (no merges, so every byte is a token) made with the ``tokenizers`` library, with
the ``<image>`` token and the llava-hf LLaVA-1.5 chat template. Its weights are
random: whatever it generates is noise, which is exactly what the planner's
parse-feedback path must survive.
"""

from __future__ import annotations

from pathlib import Path

# the chat template shipped with llava-hf/llava-1.5-*-hf (images first, then text)
LLAVA_15_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ content['text'] + ' '}}{% endfor %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)

IMAGE_SIZE = 32
PATCH_SIZE = 8
# CLIP adds a CLS token; the "default" strategy drops it again
NUM_IMAGE_TOKENS = (IMAGE_SIZE // PATCH_SIZE) ** 2


def build_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    vocab = {tok: i for i, tok in enumerate(specials)}
    for char in sorted(alphabet):
        vocab[char] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    tokenizer.chat_template = LLAVA_15_CHAT_TEMPLATE
    return tokenizer


def tiny_llama_config(tokenizer, max_positions: int):
    """The tiny Llama text model both test models use (the LLaVA's language half, and the
    text-only causal LM): 2 layers, 32 wide, the byte tokenizer's vocabulary."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def build_processor():
    from transformers import CLIPImageProcessor, LlavaProcessor

    image_processor = CLIPImageProcessor(
        size={"shortest_edge": IMAGE_SIZE},
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        do_center_crop=True,
    )
    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=build_tokenizer(),
        patch_size=PATCH_SIZE,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=LLAVA_15_CHAT_TEMPLATE,
    )


def build_model(processor, seed: int = 0):
    import torch
    from transformers import (
        CLIPVisionConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
    )

    tokenizer = processor.tokenizer
    text_config = tiny_llama_config(tokenizer, max_positions=8192)
    vision_config = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=IMAGE_SIZE,
        patch_size=PATCH_SIZE,
        projection_dim=32,
    )
    config = LlavaConfig(
        vision_config=vision_config,
        text_config=text_config,
        image_token_index=processor.image_token_id,
        image_seq_length=NUM_IMAGE_TOKENS,
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config).eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def build_tiny_llava(seed: int = 0):
    """``(model, processor)``: a random tiny LLaVA-1.5 on CPU in fp32."""
    processor = build_processor()
    return build_model(processor, seed=seed), processor


def save_tiny_llava(folder: Path, seed: int = 0) -> Path:
    """Write a loadable model folder (config, weights, processor) like a hub snapshot."""
    model, processor = build_tiny_llava(seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
