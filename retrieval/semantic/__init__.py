"""The semantic stage: sentence embeddings of passages and questions from models that ship
inside PyPI wheels, stored in the snapshot beside the BM25 index.

Two roles: ``english`` (all-MiniLM-L6-v2) re-scores the lexical candidates of an English question,
so that paraphrases rise; ``multilingual`` (USE multilingual v3) finds passages for a question in
another language, where the question shares no word with the corpus. Everything loads offline
from site-packages; without the ``wikiqa[semantic]`` extra the stage is absent and wikiqa is
lexical-only.
"""
