"""The README's signature check, as a receiver would copy it."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verifier():
    """The five-line `verify` from README, Integrating → Webhooks, executed as written."""
    text = README.read_text()
    section = text[text.index("**Checking the signature.**") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) == 5, code
    namespace: dict = {}
    exec(code, namespace)
    return namespace["verify"]
