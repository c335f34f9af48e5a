"""Per-rank rollout streams under DDP: how each rank is seeded, and how a checkpoint holds every rank's state.

Lightning does not shard an IterableDataset, so each rank draws its own rollouts from its own generator. The
datamodule's state is written to a checkpoint by rank 0 only, so it gathers every rank's generator state
first (a collective: Lightning dumps checkpoints on every rank) and, on resume, each rank picks its own.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from lightning.pytorch.utilities import rank_zero_warn

from o1_lightning.errors import O1Error

# Rank r > 0 samples from seed + r * RANK_SEED_STRIDE. Not seed + r: rank 1 would then replay the stream that
# draws the held-out validation prompts (seed + 1) and train on them in its first batch.
RANK_SEED_STRIDE = 1_000_000


def rank_and_world_size() -> tuple[int, int]:
    """(global rank, world size) of this process; (0, 1) outside torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def rank_seed(seed: int, rank: int) -> int:
    """The seed of rank `rank`'s rollout generator; rank 0 keeps `seed`, so a one-process run is unchanged."""
    return seed + RANK_SEED_STRIDE * rank


def gather_objects(value: Any) -> list[Any]:
    """Every rank's `value`, indexed by rank ([value] outside torch.distributed). Collective: all ranks at once."""
    if not (dist.is_available() and dist.is_initialized()):
        return [value]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def gather_generator_states(generator: torch.Generator) -> list[torch.Tensor]:
    """Every rank's generator state, indexed by rank. Collective: call it on all ranks at once."""
    return [state.cpu() for state in gather_objects(generator.get_state())]


def release_process_group() -> None:
    """Destroy the process group, if any, while the interpreter is still alive.

    Lightning destroys it at exit only for NCCL. A gloo group left to interpreter finalization can abort the
    process after a finished run ("terminate called without an active exception", exit -6): its worker threads
    still hold work objects whose teardown needs the GIL.
    """
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def check_generator_states(states: Any, checkpoint: str) -> None:
    """A checkpoint's saved generator states are CPU generator states (O1Error in one line if not)."""
    reference = torch.Generator().get_state()
    valid = (
        isinstance(states, list)
        and states
        and all(isinstance(s, torch.Tensor) and s.dtype == torch.uint8 and s.shape == reference.shape for s in states)
    )
    if not valid:
        raise O1Error(f"checkpoint {checkpoint!r} holds damaged rollout generator states; it cannot resume exactly")


def restore_generator_state(generator: torch.Generator, states: list[torch.Tensor], seed: int) -> None:
    """Set this rank's generator from a checkpoint's per-rank states.

    Resuming on another number of ranks is allowed (exact continuation is not possible then anyway): rank r
    continues saved stream r when the checkpoint has one, and a rank beyond the checkpoint starts its own
    fresh stream from `rank_seed(seed, r)`, which no saved rank has used.
    """
    rank, world_size = rank_and_world_size()
    if len(states) != world_size:
        rank_zero_warn(
            f"the checkpoint holds the rollout generators of {len(states)} rank(s) and this run has {world_size}: "
            f"ranks below {min(len(states), world_size)} continue their saved streams, any others start fresh"
        )
    if rank < len(states):
        generator.set_state(states[rank])
    else:
        generator.manual_seed(rank_seed(seed, rank))
