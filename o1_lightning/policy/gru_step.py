"""One GRU step per token for sampling, with the first layer's input side looked up instead of multiplied.

The input side of layer 0 for a token, W_ih @ embedding[token] + b_ih, is a fixed (3H,) vector per vocabulary
entry: one (V, 3H) table, built once per sampling call from the current weights, replaces a (B, E) x (E, 3H)
matmul per step. The recurrent (B, H) x (H, 3H) matmul stays: it is the step's real work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from o1_lightning.policy.gru import GRUPolicy

StepFunction = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def gru_cell(input_side: torch.Tensor, hidden: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor):
    """PyTorch's GRU cell from a precomputed (B, 3H) input side: (B, H) hidden -> (B, H) next hidden.

    The candidate gate's rows of `input_side`, `weight_hh` and `bias_hh` come pre-scaled by 2 (`double_candidate`):
    tanh(a) = 2 sigmoid(2a) - 1, and this CPU build's tanh is ~9x slower than its sigmoid (measured, one thread).
    """
    size = hidden.shape[1]
    recurrent = F.linear(hidden, weight_hh, bias_hh)  # (B, 3H), gates r | z | 2n
    reset_update = torch.sigmoid(input_side[:, : 2 * size] + recurrent[:, : 2 * size])  # (B, 2H)
    reset, update = reset_update[:, :size], reset_update[:, size:]
    candidate = torch.sigmoid(torch.addcmul(input_side[:, 2 * size :], reset, recurrent[:, 2 * size :]))  # (B, H)
    candidate = candidate.mul_(2).sub_(1)  # tanh of the unscaled pre-activation
    return torch.lerp(candidate, hidden, update)  # (1 - z) * n + z * h


def double_candidate(gates: torch.Tensor, dim: int) -> torch.Tensor:
    """A copy of `gates` (its axis `dim` of size 3H: r | z | n) with the candidate gate's part n doubled."""
    scaled = gates.clone()
    scaled.narrow(dim, 2 * gates.shape[dim] // 3, gates.shape[dim] // 3).mul_(2)
    return scaled


class PrecomputedStep:
    """`policy.step` for a GRUPolicy, reading the weights once: (B,) tokens, (L, B, H) hidden -> (B, V), (L, B, H).

    Build it after the last weight update and use it for one sampling call (it holds the weights as they were).
    """

    def __init__(self, policy: nn.Module) -> None:
        gru = policy.gru
        self.num_layers = gru.num_layers
        table = F.linear(policy.embedding.weight, gru.weight_ih_l0, gru.bias_ih_l0)  # (V, 3H)
        self.input_table = double_candidate(table, 1)
        self.layers = [
            (
                getattr(gru, f"weight_ih_l{layer}"),
                getattr(gru, f"bias_ih_l{layer}"),
                getattr(gru, f"weight_hh_l{layer}"),
                getattr(gru, f"bias_hh_l{layer}"),
            )
            for layer in range(self.num_layers)
        ]
        self.layers = [
            (double_candidate(w_ih, 0), double_candidate(b_ih, 0), double_candidate(w_hh, 0), double_candidate(b_hh, 0))
            for w_ih, b_ih, w_hh, b_hh in self.layers
        ]
        self.head_weight = policy.head.weight  # (V, H)
        self.head_bias = policy.head.bias + policy.action_bias  # (V,) masked actions at -inf

    def __call__(self, tokens: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        input_side = F.embedding(tokens, self.input_table)  # (B, 3H) rows of the table
        states = []
        for layer, (weight_ih, bias_ih, weight_hh, bias_hh) in enumerate(self.layers):
            if layer:
                input_side = F.linear(states[-1], weight_ih, bias_ih)  # (B, 3H) from the layer below
            states.append(gru_cell(input_side, hidden[layer], weight_hh, bias_hh))
        logits = F.linear(states[-1], self.head_weight, self.head_bias)  # (B, V)
        return logits, torch.stack(states) if self.num_layers > 1 else states[0].unsqueeze(0)


def one_layer_step(tokens, hidden, input_table, weight_hh, bias_hh, head_weight, head_bias):
    """PrecomputedStep of a one-layer GRU as a function of tensors only, the form torch.compile takes."""
    state = gru_cell(F.embedding(tokens, input_table), hidden[0], weight_hh, bias_hh)  # (B, H)
    return F.linear(state, head_weight, head_bias), state.unsqueeze(0)


_compiled_one_layer_step: StepFunction | None = None


def step_function(policy: nn.Module, compiled: bool = False) -> StepFunction:
    """The fastest step the policy offers: PrecomputedStep for a GRUPolicy (torch.compile'd if asked and it has one
    layer), else the policy's own `step`."""
    global _compiled_one_layer_step
    if not isinstance(policy, GRUPolicy):  # e.g. AttentionGRUPolicy: its step also reads its memory
        return policy.step
    step = PrecomputedStep(policy)
    if not compiled or step.num_layers != 1:
        return step
    if _compiled_one_layer_step is None:  # weights are arguments: a weight update does not recompile
        _compiled_one_layer_step = torch.compile(one_layer_step, dynamic=False)
    _, _, weight_hh, bias_hh = step.layers[0]
    tables = (step.input_table, weight_hh, bias_hh, step.head_weight, step.head_bias)
    return lambda tokens, hidden: _compiled_one_layer_step(tokens, hidden, *tables)


def full_precision(device: torch.device) -> contextlib.AbstractContextManager:
    """Autocast switched off while it is on (Lightning's mixed precision wraps test and predict steps in it):
    search and sampling keep float32 states. A no-op otherwise, since entering autocast costs time on a CPU."""
    if torch.is_autocast_enabled(device.type):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()
