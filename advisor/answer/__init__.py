"""From passages to a cited answer.

`conversation` reads the history (follow-ups, condensing, language); `base` holds the contracts
(`Answerer`, `AnswerContext`, `ChainInput`); `compose` is the extractive composer; `llm` the
language model path held to its citations; `service` the `Advisor` that holds one answerer.
Imports run service -> llm -> base/compose -> conversation, never back.
"""
