"""OS-level sandbox for LLM-written Python (the python_inter tool). See runner.py for the design and
docs/security/threat-model.md for what it defends against and what remains."""

from million.sandbox.errors import SandboxBusy, SandboxUnavailable
from million.sandbox.outputs import OutputFile
from million.sandbox.runner import Sandbox, SandboxResult, check_available, run_python

__all__ = ["OutputFile", "Sandbox", "SandboxBusy", "SandboxResult", "SandboxUnavailable", "check_available",
           "run_python"]
