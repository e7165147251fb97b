"""A 32-layer Llama-architecture decoder of small width (`transformers`, random init, nothing downloaded): the
~1,900-node op graph of issue 20, for bench/bench_overlays.py (`bench/models/llama32.py:Llama32`)."""

import torch
import transformers as T

T.logging.set_verbosity_error()


class Llama32(T.LlamaForCausalLM):
    def __init__(self):
        super().__init__(T.LlamaConfig(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=32,
                                       num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
                                       use_cache=False, bos_token_id=0, eos_token_id=0))

    def example_input(self):
        return torch.randint(0, 100, (1, 12), generator=torch.Generator().manual_seed(0))
