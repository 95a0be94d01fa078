"""Article storage, passage cutting, BM25 indexing and search. Knows nothing of Telegram or the CLI."""
