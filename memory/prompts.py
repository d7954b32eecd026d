"""The recall prompt, shared by the pipeline that trains it (sleeping) and the one that asks it
(serving): a fact is recited after "Question: <query>\nFrom my notes:\n", and "Nothing." is what a
forgotten note recites."""

from __future__ import annotations

# Recitation is trained and prompted as plain text, not through the chat template: the template's
# system prompt would more than double every example's length for nothing the model needs.
RECALL_PROMPT = "Question: {query}\nFrom my notes:\n"
NOTHING = "Nothing."


def recall_prompt(query: str) -> str:
    return RECALL_PROMPT.format(query=query.strip())


def is_nothing(recitation: str) -> bool:
    return recitation.strip().lower().startswith(NOTHING.lower().rstrip("."))


def hit(answer: str, gold: str) -> bool:
    """An answer is right when it holds the gold string, case-insensitively (probes and evaluation)."""
    return gold.lower() in answer.lower()
