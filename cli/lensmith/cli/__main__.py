"""``python -m lensmith.cli``: what the ``lensmith`` command runs (the warm agent starts itself this way)."""

from lensmith.cli import main

main()
