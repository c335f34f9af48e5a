"""One batch of experience from the live policy: sample, verify, reward, all as tensors on the policy's device."""

from __future__ import annotations

import torch

from o1_lightning.learning.episode_text import DecodedCompletions, PromptsByRow
from o1_lightning.learning.rollout import Rollout
from o1_lightning.policy.gru import policy_device
from o1_lightning.policy.sampler import Samples, sample
from o1_lightning.policy.sequences import completion_to_transitions, join_sequences
from o1_lightning.policy.tokenizer import EOS, SPECIALS, CharTokenizer
from o1_lightning.rewards.functions import RewardFunction
from o1_lightning.tasks import Task


def make_rollout(
    policy: torch.nn.Module,
    task: Task,
    tokenizer: CharTokenizer,
    reward_fn: RewardFunction,
    prompts: list[str],
    group_size: int,
    generator: torch.Generator,
    compiled: bool = False,
    temperature: float = 1.0,
) -> Rollout:
    """Sample `group_size` completions of each prompt (consecutive rows), verify them and reward them.

    Each distinct prompt is encoded once and its GRU state expanded to its rows; completions stay tensors. A task
    with a tensor verifier (`Task.verify_tokens`) is judged with no Python loop over episodes; others are judged
    one decoded completion at a time. `temperature` divides the logits; the rollout's log-probs are the tempered
    policy's, and the rollout carries T so the loss takes its log-probs at T too.
    """
    device = policy_device(policy)
    distinct = list(dict.fromkeys(prompts))
    position = {prompt: index for index, prompt in enumerate(distinct)}
    prompt_rows = torch.tensor([position[p] for p in prompts], device=device).repeat_interleave(group_size)  # (B,)
    prompt_tokens, prompt_lengths = tokenizer.encode_prompts(distinct, device)  # (P, S), (P,)
    samples = sample(
        policy, prompt_tokens, prompt_lengths, task.max_length, generator, temperature, rows=prompt_rows,
        compiled=compiled,
    )  # fmt: skip
    row_prompt_lengths = prompt_lengths.to(device)[prompt_rows]  # (B,)
    tokens, action_mask, old_log_probs = join_sequences(prompt_tokens[prompt_rows], row_prompt_lengths, samples)
    episode_rewards, outcome_reward, success = judge(task, tokenizer, reward_fn, distinct, prompt_rows, samples)
    prompts_by_row = PromptsByRow(distinct, prompt_rows)
    completions = DecodedCompletions(tokenizer, samples.tokens)
    if reward_fn.term_scorers:  # user functions and learned models: text is made only when one is configured
        reward_fn.add_term_rewards(
            episode_rewards, prompts_by_row[:], completions[:], samples.tokens - SPECIALS, samples.lengths
        )
    rewards = completion_to_transitions(episode_rewards, row_prompt_lengths, action_mask)  # (B, T-1)
    return Rollout(
        tokens=tokens,
        action_mask=action_mask,
        old_log_probs=old_log_probs,
        rewards=rewards,
        outcome_reward=outcome_reward.float(),
        success=success.float(),
        lengths=samples.lengths,
        group_size=group_size,
        prompts=prompts_by_row,
        completions=completions,
        temperature=temperature,
    )


def judge(
    task: Task,
    tokenizer: CharTokenizer,
    reward_fn: RewardFunction,
    prompts: list[str],
    rows: torch.Tensor,
    samples: Samples,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, L) rewards by action, (B,) outcome rewards and (B,) solved, on the samples' device."""
    last_action = samples.tokens.gather(1, (samples.lengths - 1).clamp(min=0).unsqueeze(1)).squeeze(1)  # (B,)
    num_chars = samples.lengths - (last_action == EOS).long()  # (B,) the end token is not a character
    verdicts = None
    if reward_fn.tensor_path:
        verdicts = task.verify_tokens(prompts, rows, samples.tokens - SPECIALS, num_chars)
    if verdicts is not None:
        return reward_fn.batch(verdicts, samples.lengths)
    return judge_strings(task, tokenizer, reward_fn, prompts, rows, samples)


def judge_strings(
    task: Task,
    tokenizer: CharTokenizer,
    reward_fn: RewardFunction,
    prompts: list[str],
    rows: torch.Tensor,
    samples: Samples,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The string path: decode every completion and reward it with `reward_fn.episode`, one episode at a time."""
    device = samples.tokens.device
    completions = DecodedCompletions(tokenizer, samples.tokens)[:]
    batch, width = samples.tokens.shape
    episode_rewards = torch.zeros(batch, width)
    outcome_reward, success = torch.zeros(batch), torch.zeros(batch, dtype=torch.bool)
    for row, (prompt_row, completion, num_actions) in enumerate(
        zip(rows.tolist(), completions, samples.lengths.tolist())
    ):
        rewards_row, outcome_reward[row], success[row] = reward_fn.episode(
            task, prompts[prompt_row], completion, num_actions
        )
        episode_rewards[row, :num_actions] = rewards_row
    return episode_rewards.to(device), outcome_reward.to(device), success.to(device)
