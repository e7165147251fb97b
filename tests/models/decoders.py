"""Token-input decoders from `transformers`, written as a user would write a model file
(`tests/models/decoders.py:TinyGPT2`): a class constructible with no arguments whose
`example_input()` is a batch of token ids. Small configs, random init, nothing downloaded."""

import torch
import transformers as T

T.logging.set_verbosity_error()
VOCAB = 100
SEQ = 12


def _ids() -> torch.Tensor:
    return torch.randint(0, VOCAB, (1, SEQ), generator=torch.Generator().manual_seed(0))


class TinyGPT2(T.GPT2LMHeadModel):
    """GPT-2 decoder: 2 blocks, width 32, 2 heads, a vocabulary of 100 tokens."""

    def __init__(self):
        super().__init__(T.GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=2, n_positions=64,
                                      use_cache=False, bos_token_id=0, eos_token_id=0))

    def example_input(self):
        return _ids()


class TinyLlama(T.LlamaForCausalLM):
    """Llama-style decoder: RMSNorm, rotary positions, SwiGLU, grouped-query attention (2 heads, 1 KV head)."""

    def __init__(self):
        super().__init__(T.LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                       num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
                                       use_cache=False, bos_token_id=0, eos_token_id=0))

    def example_input(self):
        return _ids()
