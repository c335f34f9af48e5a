"""MCTS with PUCT over the policy's priors; a new leaf is valued by a scorer on a policy rollout from it.

Every tree node keeps its GRU state, so expanding a node is one GRU step from its parent's state (a prefix is
never re-run). Node 0 of each tree is the prompt; all B trees advance in lock-step, one simulation at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import nn

from o1_lightning.errors import O1Error
from o1_lightning.policy.tokenizer import EOS, CharTokenizer
from o1_lightning.rewards.scorers import Scorer, require_scorer, score_completions
from o1_lightning.search.budget import check_budget
from o1_lightning.search.extend import UniformSource, extend
from o1_lightning.search.problems import Generators, Problems, make_problems
from o1_lightning.search.puct import backup, most_visited_path, puct_scores, select_actions
from o1_lightning.search.result import SearchResult
from o1_lightning.search.stepper import Stepper
from o1_lightning.tasks.base import Task

ROLLOUTS = ("greedy", "sample")
PER_NODE = ("children", "visits", "value_sums", "log_priors", "node_visits", "depth", "terminal", "values", "log_probs")


@dataclass
class Tree:
    """B trees of up to M nodes; node tensors are (B, M), edge tensors (B, M, V) indexed by the action's token."""

    children: torch.Tensor  # (B, M, V) child node, -1 while unexpanded
    visits: torch.Tensor  # (B, M, V) N(s, a)
    value_sums: torch.Tensor  # (B, M, V) W(s, a)
    log_priors: torch.Tensor  # (B, M, V) the policy's log-probs at the node, -inf where masked
    node_visits: torch.Tensor  # (B, M) N(s)
    depth: torch.Tensor  # (B, M) tokens from the root
    terminal: torch.Tensor  # (B, M) ends with EOS or at max_length
    values: torch.Tensor  # (B, M) the scorer's value of the node's evaluation
    log_probs: torch.Tensor  # (B, M) summed character log-probs of the node's prefix
    size: torch.Tensor  # (B,) nodes in use
    states: Any  # B * M stepper rows, row b * M + n
    texts: list[list[str]]  # prefix of every node
    rollouts: list[list[str | None]]  # the completion each node was valued on

    @property
    def capacity(self) -> int:
        return self.depth.shape[1]


@dataclass
class Selection:
    """Where each row's descent stopped: at edge (parent, action), whose child is -1 (to expand) or terminal."""

    parent: torch.Tensor  # (R,)
    action: torch.Tensor  # (R,)
    child: torch.Tensor  # (R,)
    path_nodes: torch.Tensor  # (R, D)
    path_actions: torch.Tensor  # (R, D)
    path_lengths: torch.Tensor  # (R,)


def new_tree(problems: Problems, capacity: int) -> Tree:
    """Roots only, with room for `capacity` nodes per tree: each prompt's encoding gives its root's priors and state."""
    logits, state = problems.stepper.start(problems.prompts)  # (B, V), B rows
    (size, vocab), device = logits.shape, logits.device
    edges = torch.zeros(size, capacity, vocab, device=device)  # (B, M, V)
    nodes = torch.zeros(size, capacity, device=device)  # (B, M)
    tree = Tree(
        children=edges.long() - 1,
        visits=edges.clone(),
        value_sums=edges.clone(),
        log_priors=edges.clone(),
        node_visits=nodes.clone(),
        depth=nodes.long(),
        terminal=nodes.bool(),
        values=nodes.clone(),
        log_probs=nodes.clone(),
        size=torch.ones(size, dtype=torch.long, device=device),
        states=problems.stepper.table(state, size * capacity),
        texts=[[""] * capacity for _ in range(size)],
        rollouts=[[None] * capacity for _ in range(size)],
    )
    tree.log_priors[:, 0] = torch.log_softmax(logits, -1)
    problems.stepper.put(tree.states, torch.arange(size, device=device) * capacity, state)
    return tree


def grow(problems: Problems, tree: Tree, capacity: int) -> Tree:
    """The same trees with room for `capacity` nodes each (storage doubles as trees fill, so memory follows use)."""
    size, old, device = tree.depth.shape[0], tree.capacity, tree.depth.device

    def widen(values: torch.Tensor, fill: int) -> torch.Tensor:
        out = values.new_full((size, capacity, *values.shape[2:]), fill)  # (B, capacity, ...)
        out[:, :old] = values
        return out

    rows = torch.arange(size, device=device).unsqueeze(1) * capacity + torch.arange(old, device=device)  # (B, M)
    first = problems.stepper.take(tree.states, torch.zeros(1, dtype=torch.long, device=device))
    states = problems.stepper.table(first, size * capacity)
    problems.stepper.put(states, rows.view(-1), tree.states)  # row b * M + n moves to b * capacity + n
    pad = capacity - old
    widened = {name: widen(getattr(tree, name), -1 if name == "children" else 0) for name in PER_NODE}
    texts = [t + [""] * pad for t in tree.texts]
    return Tree(
        **widened, size=tree.size, states=states, texts=texts, rollouts=[r + [None] * pad for r in tree.rollouts]
    )


def select_leaves(tree: Tree, rows: torch.Tensor, c_puct: float, fpu: float, max_length: int) -> Selection:
    """Descend each tree in `rows` by PUCT until the chosen edge is unexpanded or leads to a terminal node."""
    zeros = torch.zeros_like(rows)
    node, parent, action, child = zeros.clone(), zeros.clone(), zeros.clone(), zeros.clone()
    path_nodes = torch.zeros(rows.shape[0], max_length, dtype=torch.long, device=rows.device)  # (R, D)
    path_actions, lengths = path_nodes.clone(), zeros.clone()
    going = torch.ones_like(rows, dtype=torch.bool)
    for d in range(max_length):  # non-terminal nodes are shallower than max_length
        scores = puct_scores(
            tree.log_priors[rows, node],
            tree.visits[rows, node],
            tree.value_sums[rows, node],
            tree.node_visits[rows, node],
            c_puct,
            fpu,
        )
        chosen = select_actions(scores)  # (R,)
        path_nodes[:, d], path_actions[:, d] = node, chosen
        lengths += going.long()
        next_node = tree.children[rows, node, chosen]
        stop = going & ((next_node < 0) | tree.terminal[rows, next_node.clamp(min=0)])
        parent, action = torch.where(stop, node, parent), torch.where(stop, chosen, action)
        child = torch.where(stop, next_node, child)
        going &= ~stop
        if not bool(going.any()):
            break
        node = torch.where(going, next_node, node)
    return Selection(parent, action, child, path_nodes, path_actions, lengths)


def expand(
    problems: Problems, tree: Tree, rows: torch.Tensor, parent: torch.Tensor, action: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, Any]:
    """Add child (parent, action) in each tree of `rows`: one GRU step from the parent's stored state unless the
    child is terminal. Returns (R,) new nodes, the live (non-terminal) positions, and their logits and states."""
    m, length = tree.capacity, problems.max_length
    new = tree.size[rows].clone()
    tree.size[rows] += 1
    tree.children[rows, parent, action] = new
    depth = tree.depth[rows, parent] + 1
    is_end = action == EOS
    tree.depth[rows, new] = depth
    tree.terminal[rows, new] = is_end | (depth >= length)
    tree.log_probs[rows, new] = tree.log_probs[rows, parent] + tree.log_priors[rows, parent, action].masked_fill(
        is_end, 0.0
    )
    chars = problems.chars
    for b, p, n, a in zip(rows.tolist(), parent.tolist(), new.tolist(), action.tolist()):
        tree.texts[b][n] = tree.texts[b][p] + chars[a]
    live = (~tree.terminal[rows, new]).nonzero().squeeze(1)
    if live.numel() == 0:
        return new, live, None, None
    parent_rows = rows[live] * m + parent[live]
    logits, state = problems.stepper.step(action[live], problems.stepper.take(tree.states, parent_rows))
    problems.stepper.put(tree.states, rows[live] * m + new[live], state)
    tree.log_priors[rows[live], new[live]] = torch.log_softmax(logits, -1)
    return new, live, logits, state


def evaluate(
    problems: Problems,
    tree: Tree,
    rows: torch.Tensor,
    new: torch.Tensor,
    live: torch.Tensor,
    logits: torch.Tensor | None,
    state: Any,
    scorer: Scorer,
    rollout: str,
    spent: torch.Tensor,
) -> torch.Tensor:
    """(R,) values of new nodes: the scorer on the prefix (terminal) or on a policy rollout from it (charged)."""
    completions = [tree.texts[b][n] for b, n in zip(rows.tolist(), new.tolist())]
    log_probs, chars = tree.log_probs[rows, new], torch.tensor([len(c) for c in completions], device=rows.device)
    if live.numel():
        limits = problems.max_length - tree.depth[rows[live], new[live]]
        uniforms = UniformSource(rows[live], problems.generators) if rollout == "sample" else None
        ext = extend(problems.stepper, logits, state, limits, rollout == "greedy", 1.0, uniforms)
        spent.index_add_(0, rows[live], ext.counts)
        for i, tail in zip(live.tolist(), problems.decode(ext.tokens, ext.counts)):
            completions[i] += tail
        log_probs, chars = log_probs.clone(), chars.clone()
        log_probs[live] += ext.log_probs
        chars[live] += ext.chars
    prompts = [problems.prompts[b] for b in rows.tolist()]
    values = score_completions(scorer, problems.stepper.policy, prompts, completions, log_probs, chars)
    tree.values[rows, new] = values
    for b, n, text in zip(rows.tolist(), new.tolist(), completions):
        tree.rollouts[b][n] = text
    return values


def simulate(
    problems: Problems,
    tree: Tree,
    rows: torch.Tensor,
    sel: Selection,
    scorer: Scorer,
    rollout: str,
    spent: torch.Tensor,
) -> None:
    """Finish one simulation per tree in `rows`: expand and value new leaves (terminals reuse their value), back up."""
    new_leaf = sel.child < 0
    values = torch.zeros(rows.shape[0], device=rows.device)
    leaves = sel.child.clone()
    fresh = new_leaf.nonzero().squeeze(1)
    if fresh.numel():
        spent.index_add_(0, rows[fresh], torch.ones_like(fresh))  # each new node's own token
        new, live, logits, state = expand(problems, tree, rows[fresh], sel.parent[fresh], sel.action[fresh])
        values[fresh] = evaluate(problems, tree, rows[fresh], new, live, logits, state, scorer, rollout, spent)
        leaves[fresh] = new
    old = (~new_leaf).nonzero().squeeze(1)
    values[old] = tree.values[rows[old], sel.child[old]]
    backup(
        tree.visits,
        tree.value_sums,
        tree.node_visits,
        rows,
        sel.path_nodes,
        sel.path_actions,
        sel.path_lengths,
        leaves,
        values,
    )


def simulation_cost(tree: Tree, rows: torch.Tensor, sel: Selection, max_length: int) -> torch.Tensor:
    """(R,) most token-steps the selected simulations can cost: the new node plus a rollout to max_length."""
    worst = max_length - tree.depth[rows, sel.parent]  # 1 for the node + (max_length - its depth) for the rollout
    worst = torch.where(sel.action == EOS, torch.ones_like(worst), worst)
    return torch.where(sel.child < 0, worst, torch.zeros_like(worst))


@torch.no_grad()
def search_tree(
    problems: Problems,
    budget: int,
    scorer: Scorer,
    simulations: int | None = None,
    c_puct: float = 1.0,
    fpu: float = 0.0,
    rollout: str = "greedy",
    capacity: int = 64,
) -> tuple[Tree, torch.Tensor, torch.Tensor]:
    """Run the simulations: (trees, (B,) token-steps spent, (B,) simulations run).

    A tree stops when its next simulation could overrun the budget (keeping max_length in reserve for the final
    greedy completion when rollouts are sampled); `simulations` caps the count (default: as many as fit).
    Storage starts at `capacity` nodes per tree and doubles as needed.
    """
    length = problems.max_length
    reserve = 0 if rollout == "greedy" else length
    cap = simulations if simulations is not None else budget
    most_nodes = min(cap, budget) + 1  # a simulation adds at most one node, which costs at least one token-step
    tree = new_tree(problems, min(capacity, most_nodes))
    spent = torch.zeros(problems.size, dtype=torch.long, device=problems.device)
    done = torch.zeros_like(spent)
    active = torch.ones(problems.size, dtype=torch.bool, device=problems.device)
    for _ in range(cap):
        rows = active.nonzero().squeeze(1)
        if rows.numel() == 0:
            break
        if int(tree.size.max()) == tree.capacity:
            tree = grow(problems, tree, min(2 * tree.capacity, most_nodes))
        sel = select_leaves(tree, rows, c_puct, fpu, length)
        fits = spent[rows] + simulation_cost(tree, rows, sel, length) + reserve <= budget  # (R,)
        active[rows[~fits]] = False
        if not bool(fits.all()):
            keep = fits.nonzero().squeeze(1)
            rows = rows[keep]
            sel = Selection(*(getattr(sel, f.name)[keep] for f in fields(Selection)))
        if rows.numel():
            simulate(problems, tree, rows, sel, scorer, rollout, spent)
            done[rows] += 1
    return tree, spent, done


def final_answers(
    problems: Problems, tree: Tree, scorer: Scorer, rollout: str, spent: torch.Tensor
) -> tuple[list[str], list[float]]:
    """Per tree, the most-visited path's end, completed by the greedy rollout it was valued on (free) or, after
    sampled rollouts, by a fresh greedy completion (charged); returns completions and their scores."""
    nodes = most_visited_path(tree.children, tree.visits, problems.max_length)  # (B,)
    batch = torch.arange(problems.size, device=nodes.device)
    texts = [tree.rollouts[b][n] for b, n in zip(batch.tolist(), nodes.tolist())]
    scores = tree.values[batch, nodes].tolist()
    greedy_done = [
        t is not None and (rollout == "greedy" or term) for t, term in zip(texts, tree.terminal[batch, nodes].tolist())
    ]
    todo = torch.tensor([not g for g in greedy_done], device=nodes.device).nonzero().squeeze(1)
    if todo.numel():
        b, n = batch[todo], nodes[todo]
        rows = b * tree.capacity + n
        limits = problems.max_length - tree.depth[b, n]
        ext = extend(problems.stepper, tree.log_priors[b, n], problems.stepper.take(tree.states, rows), limits)
        spent.index_add_(0, b, ext.counts)
        finishes = [
            tree.texts[i][j] + t for i, j, t in zip(b.tolist(), n.tolist(), problems.decode(ext.tokens, ext.counts))
        ]
        chars = torch.tensor([len(t) for t in finishes], device=nodes.device)
        finish_scores = score_completions(
            scorer,
            problems.stepper.policy,
            [problems.prompts[i] for i in b.tolist()],
            finishes,
            tree.log_probs[b, n] + ext.log_probs,
            chars,
        ).tolist()
        for i, text, score in zip(b.tolist(), finishes, finish_scores):
            texts[i], scores[i] = text, score
    return texts, scores


@torch.no_grad()
def mcts(
    policy: nn.Module,
    tokenizer: CharTokenizer,
    task: Task,
    prompts: list[str],
    budget: int,
    scorer: Scorer,
    generator: Generators = None,
    *,
    simulations: int | None = None,
    c_puct: float = 1.0,
    fpu: float = 0.0,
    rollout: str = "greedy",
    stepper: Stepper | None = None,
) -> list[SearchResult]:
    """PUCT search valued by `scorer` on greedy (or sampled) rollouts; answers with the most-visited path, completed
    greedily. Simulations default to as many as the budget affords (each costs at most max_length)."""
    scorer = require_scorer(scorer, "mcts")
    if rollout not in ROLLOUTS:
        raise O1Error(f"unknown mcts rollout {rollout!r}; allowed: {', '.join(ROLLOUTS)}")
    if simulations is not None and simulations < 1:
        raise O1Error(f"mcts needs simulations >= 1 (or unset to fill the budget), got {simulations!r}")
    problems = make_problems(policy, tokenizer, task, prompts, generator, stepper)
    check_budget("mcts", budget, problems.max_length)
    tree, spent, done = search_tree(problems, budget, scorer, simulations, c_puct, fpu, rollout)
    completions, scores = final_answers(problems, tree, scorer, rollout, spent)
    info = [
        {"simulations": int(s), "nodes": int(n), "root_visits": float(v)}
        for s, n, v in zip(done.tolist(), tree.size.tolist(), tree.node_visits[:, 0].tolist())
    ]
    return problems.results("mcts", budget, completions, scores, scorer, spent.tolist(), info)
