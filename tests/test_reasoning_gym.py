"""ReasoningGymTask: reasoning-gym datasets as verifiable tasks (tests needing the package skip without it)."""

import importlib
import importlib.util
import subprocess
import sys

import pytest
import torch

from o1_lightning.errors import O1Error
from o1_lightning.policy import CharTokenizer, decode_completions, policy_from_checkpoint, sample
from o1_lightning.tasks import ReasoningGymTask

from .conftest import CONFIGS, REPO
from .helpers import run_cli

needs_reasoning_gym = pytest.mark.skipif(
    importlib.util.find_spec("reasoning_gym") is None,
    reason="reasoning-gym not installed (pip install -e '.[reasoning-gym]')",
)
SPELL = {"min_word_len": 3, "max_word_len": 5}


def test_the_package_imports_without_reasoning_gym():
    code = "import sys; sys.modules['reasoning_gym'] = None; import o1_lightning.tasks, o1_lightning.app.cli"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_missing_package_is_one_error_naming_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "reasoning_gym", None)  # import reasoning_gym now raises ImportError
    with pytest.raises(O1Error, match=r"pip install -e '\.\[reasoning-gym\]'"):
        ReasoningGymTask("chain_sum")


@needs_reasoning_gym
def test_an_unknown_dataset_names_the_close_ones():
    with pytest.raises(O1Error, match="unknown reasoning-gym dataset 'chain_summ'; close names: chain_sum"):
        ReasoningGymTask("chain_summ")


@needs_reasoning_gym
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"config": {"max_word": 5}}, "has no config key max_word; allowed: .*min_word_len"),
        ({"config": {"min_word_len": 0}}, "rejects config"),
        ({"prompt_template": "{wrd}"}, "cannot be filled .* allowed fields: .*'word'"),
        ({"prompt_template": "{word_len}"}, "gives two entries the prompt .* with different answers"),
    ],
)
def test_bad_config_and_templates_are_one_clear_error(kwargs, message):
    with pytest.raises(O1Error, match=message):
        ReasoningGymTask("spell_backward", **kwargs)


@needs_reasoning_gym
def test_unknown_dataset_on_the_command_line_is_one_error_line(in_tmp, capsys):
    args = ["--config", str(CONFIGS / "rg_chain_sum_sft.yaml"), "--data.task.init_args.dataset", "spell_backwards"]
    assert run_cli("fit", *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'spell_backwards'" in err[0] and "spell_backward" in err[0]
    assert not (in_tmp / "checkpoints").exists() and not (in_tmp / "lightning_logs").exists()


@needs_reasoning_gym
def test_splits_come_from_disjoint_seed_ranges_and_never_repeat_a_train_question():
    task = ReasoningGymTask("spell_backward", SPELL, seed=3, size=200, eval_size=100, prompt_template="{word}")
    reference = importlib.import_module("reasoning_gym").create_dataset("spell_backward", seed=3, size=300, **SPELL)
    assert task.splits["train"] == list(dict.fromkeys(reference[i]["metadata"]["word"] for i in range(200)))
    later = [reference[i]["metadata"]["word"] for i in range(200, 300)]
    assert task.splits["eval"] == [w for w in dict.fromkeys(later) if w not in set(task.splits["train"])]
    drawn = task.sample_prompts(50, torch.Generator().manual_seed(0), split="eval")
    assert set(drawn) <= set(task.splits["eval"])
    assert drawn == task.sample_prompts(50, torch.Generator().manual_seed(0), split="eval")
    assert set(task.sample_prompts(50, torch.Generator().manual_seed(0))) <= set(task.splits["train"])
    with pytest.raises(O1Error, match="prompt split 'test' is not one of train, eval"):
        task.sample_prompts(1, torch.Generator(), split="test")


@needs_reasoning_gym
def test_verifier_demonstrations_vocab_and_partial_scores():
    task = ReasoningGymTask("spell_backward", SPELL, size=200, eval_size=50, prompt_template="{word}")
    prompts = task.splits["train"] + task.splits["eval"]
    assert all(task.outcome(p, task.demonstrate(p)) for p in prompts)
    assert set("".join(prompts)) | set("".join(map(task.demonstrate, prompts))) <= set(task.vocab)
    assert task.max_length == max(len(task.demonstrate(p)) for p in prompts)
    word = next(p for p in prompts if len(p) == 5)
    backward = word[::-1]
    # spell_backward scores matching leading characters: 4 of 5 right -> 0.8, i.e. 0.2 of a mistake
    assert task.score(word, backward[:4] + "#") == pytest.approx(0.8)
    assert task.mistakes(word, backward[:4] + "#") == pytest.approx(0.2)
    assert not task.outcome(word, backward[:4] + "#") and task.mistakes(word, "") == 1.0
    assert task.process(word, backward) == [True] and task.steps(backward) == [backward]


@needs_reasoning_gym
def test_a_prompt_the_dataset_does_not_hold_is_refused():
    task = ReasoningGymTask("spell_backward", SPELL, size=100, eval_size=50, prompt_template="{word}")
    with pytest.raises(O1Error, match="characters outside the vocab: 'é'"):
        task.check_prompt("café")
    with pytest.raises(O1Error, match="not one of its entries"):
        task.outcome("zzzzzzz", "zzzzzzz")


@needs_reasoning_gym
def test_sft_learns_to_spell_short_words_backward(in_tmp):
    """End to end through the CLI: SFT on 3-letter words, then greedy decoding verified on the eval split."""
    args = ["--config", str(CONFIGS / "rg_spell_backward_sft.yaml"), "--trainer.max_steps", "400"]
    args += ["--data.task.init_args.config", "{min_word_len: 3, max_word_len: 3}", "--model.hidden_size", "64"]
    args += ["--data.task.init_args.size", "500", "--data.task.init_args.eval_size", "200"]
    args += ["--trainer.val_check_interval", "400", "--data.val_prompts", "16", "--model.lr", "0.01"]
    assert run_cli("fit", *args) == 0
    policy, saved = policy_from_checkpoint(in_tmp / "checkpoints/rg_spell_backward_sft/last.ckpt")
    vocab = saved["hyper_parameters"]["vocab"]
    task = ReasoningGymTask(
        "spell_backward", {"min_word_len": 3, "max_word_len": 3}, size=500, eval_size=200, prompt_template="{word}"
    )
    assert vocab == task.vocab
    tokenizer = CharTokenizer(vocab)
    prompts = task.splits["eval"]
    tokens, lengths = tokenizer.encode_prompts(prompts)
    completions = decode_completions(tokenizer, sample(policy, tokens, lengths, task.max_length, greedy=True))
    accuracy = sum(task.outcome(p, c) for p, c in zip(prompts, completions)) / len(prompts)
    assert accuracy >= 0.5, accuracy  # chance is (1/52)^3
