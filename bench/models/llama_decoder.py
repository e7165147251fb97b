"""A Llama-architecture decoder from `transformers`, built offline at a small width (random init, no
download): the test model of hierarchical browsing (README, Browsing). `Llama32` and `Llama128` are
user-file classes (`bench/models/llama_decoder.py:Llama128`): hidden 64, 4 heads, vocabulary 128,
32 or 128 `LlamaDecoderLayer`s; the example input is one sequence of 16 token ids.
"""

import torch
import transformers as T

T.logging.set_verbosity_error()


class _Llama(T.LlamaForCausalLM):
    """`LlamaForCausalLM` at a small width with `layers` decoder layers; forward: token ids -> logits."""

    layers = 2

    def __init__(self) -> None:
        torch.manual_seed(0)
        super().__init__(T.LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128,
                                       num_hidden_layers=self.layers, num_attention_heads=4, num_key_value_heads=4,
                                       max_position_embeddings=64, use_cache=False, tie_word_embeddings=False))
        self.eval()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(input_ids=ids).logits

    def example_input(self) -> torch.Tensor:
        return torch.randint(0, 128, (1, 16), generator=torch.Generator().manual_seed(0))


class Llama4(_Llama):
    layers = 4


class Llama32(_Llama):
    layers = 32


class Llama128(_Llama):
    layers = 128
