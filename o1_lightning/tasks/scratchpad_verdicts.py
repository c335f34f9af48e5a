"""Addition's verifier and step checker on tensors: scratchpad pieces split at ';' and compared with the truth.

A completion is pieces ending in ';' (column steps) and, after the last ';', the answer piece if any. Column
piece k is right iff it equals the true column k exactly (so it has its 7 characters); the answer piece is
right iff it equals "=<a+b>". Every count is a cumulative sum along the completion, so a whole batch is judged
with a fixed number of tensor operations.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from o1_lightning.tasks.verdicts import StepVerdicts

COLUMN_WIDTH = 7  # "<a><b><carry>=<carry><digit>;"


def scratchpad_verdicts(
    char_ids: torch.Tensor,
    num_chars: torch.Tensor,
    separator: int,
    columns: torch.Tensor,
    num_columns: torch.Tensor,
    answer: torch.Tensor,
    answer_length: torch.Tensor,
) -> StepVerdicts:
    """Judge (B, L) completions against each row's truth.

    columns (B, C, 7) and num_columns (B,): the true column steps; answer (B, A) and answer_length (B,): the true
    answer piece "=<sum>"; padding in both is any id that no character has (e.g. -9).
    """
    batch, width = char_ids.shape
    position = torch.arange(width, device=char_ids.device).expand(batch, width)  # (B, L)
    is_char = position < num_chars.unsqueeze(1)  # (B, L)
    ends_column = (char_ids == separator) & is_char  # (B, L): a ';' closes a column piece
    piece = ends_column.long().cumsum(1) - ends_column.long()  # (B, L) index of the piece holding each character
    last_separator = torch.where(ends_column, position, -1).cummax(1).values  # (B, L) at or before j
    start = F.pad(last_separator[:, :-1], (1, 0), value=-1) + 1  # (B, L) first character of j's piece
    offset = position - start  # (B, L) place of each character in its piece

    # Column pieces: every character matches the true column at its place, and there is such a column.
    column_index = piece.clamp(max=columns.shape[1] - 1)
    expected = columns.gather(1, column_index.unsqueeze(-1).expand(-1, -1, COLUMN_WIDTH))  # (B, L, 7)
    expected = expected.gather(2, offset.clamp(max=COLUMN_WIDTH - 1).unsqueeze(-1)).squeeze(-1)  # (B, L)
    wrong = (char_ids != expected) | (offset >= COLUMN_WIDTH) | (piece >= num_columns.unsqueeze(1))  # (B, L)
    column_ok = ends_column & (pieces_sum(wrong, start) == 0)  # (B, L), read at the ';' positions

    # The answer piece: the characters after the last ';', if any.
    answer_start = torch.where(ends_column, position + 1, 0).amax(1)  # (B,)
    has_answer = answer_start < num_chars  # (B,)
    answer_offset = (position - answer_start.unsqueeze(1)).clamp(min=0, max=answer.shape[1] - 1)  # (B, L)
    answer_wrong = (char_ids != answer.gather(1, answer_offset)) & is_char & (position >= answer_start.unsqueeze(1))
    solved = has_answer & (num_chars - answer_start == answer_length) & ~answer_wrong.any(1)  # (B,)

    last_char = position == (num_chars - 1).unsqueeze(1)  # (B, L)
    step_end = ends_column | (last_char & has_answer.unsqueeze(1))
    step_ok = torch.where(ends_column, column_ok, solved.unsqueeze(1) & last_char)
    missing = (num_columns - ends_column.sum(1)).clamp(min=0) + (~has_answer).long()
    mistakes = (step_end & ~step_ok).sum(1) + missing
    return StepVerdicts(step_end, step_ok, solved, mistakes)


def pieces_sum(flags: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """(B, L) count of `flags` from each position's piece start up to and including it."""
    running = flags.long().cumsum(1)  # (B, L)
    before = F.pad(running, (1, 0)).gather(1, start)  # (B, L) count before the piece starts
    return running - before
