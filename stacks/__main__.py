"""The Pulumi program (Pulumi.yaml: ``main: stacks/``): the roster in stack config, declared."""

from provider.program import run

run()
