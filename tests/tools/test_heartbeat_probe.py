"""The heartbeat probe (``huleedu-runtime check-heartbeat``) in a bare interpreter: a
child process, so it lives here and not in the unit tier."""

from __future__ import annotations

import subprocess
import sys


def test_the_check_imports_none_of_the_service_machinery() -> None:
    # The probe runs it every few seconds: a bare interpreter, not quart and aiokafka.
    probe = (
        "import sys; from huleedu_runtime.cli import main; import huleedu_runtime.heartbeat; "
        "print(sorted(m for m in ('quart', 'aiokafka', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
