"""wikiqa's front ends (command line and Telegram) over one answering service."""
