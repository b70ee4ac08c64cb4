"""``fabricai-roster``, the operator's command: ``validate``, ``status``, ``doctor`` and ``generate``.

One module per subcommand, plus what they share: ``stack`` (the stack's config and outputs through the
Pulumi CLI), ``render`` (the console) and ``main`` (the argument parser and the one top-level handler
that turns every failure into a message and an exit status). docs/OPERATOR.md shows each in use.

Exit status, for every subcommand: 0 all is well, 1 problems were found (listed), 2 the command could
not do its job (usage, no Pulumi CLI, no such stack, an unreadable file, a service unreachable...).
"""
