"""The verifier: reads ELF files and archives (elf.py, archive.py) and judges them (checks.py)."""
from .checks import Policy, Report, verify_bytes, verify_file
from .errors import MalformedInput

__all__ = ["Policy", "Report", "verify_bytes", "verify_file", "MalformedInput"]
