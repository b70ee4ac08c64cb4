"""A stand-in for the Pulumi engine, for fast tests and benchmarks; not installed with the package.

- servicer.py   Pulumi's ``DynamicResourceProviderServicer`` loaded without its server
- engine.py     ``Engine``: one provider process; the gRPC calls and what the engine does around them
- monitor.py    the mock resource monitor that answers the SDK as the engine does
- run.py        one ``up`` or ``preview``: registrations in, operations and state out
- report.py     ``RunReport``: what a command did, and a Pulumi-like summary
- driver.py     ``RosterDriver``: whole-roster runs of the real program (``program`` is passed in)
- engine_path.py  the roster through the servicer without the program (benchmarks)
"""
