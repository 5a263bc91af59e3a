"""Operator variants tried by the benchmark before a change is proposed for a module the
benchmark does not own (run with ``python -m bench.experiments.<name>``)."""
