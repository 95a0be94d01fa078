"""Stand-ins shared by the tests and the benchmarks, outside both so that neither imports the other.

Nothing here imports wikiqa: a stand-in plays the outside world (the Telegram Bot API) the way
that world behaves, and the real wikiqa code talks to it over real connections. Not part of the
wheel.
"""
