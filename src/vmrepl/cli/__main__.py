"""``python -m vmrepl.cli``: the same as the ``vmrepl`` command."""

from vmrepl.cli import main

main()
