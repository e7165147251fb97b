"""Training: run configs, the roles a run starts as (`roles`: dense, ticket, rewind, reinit, random,
saved) and rewinding (`rewind`), the loop and its callbacks, the run store, the worker and backends.

Import the submodules directly (`from explorer.training.config import RunConfig`);
this package imports nothing so that `--help` and the pages stay fast.
"""
