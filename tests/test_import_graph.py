"""Dependencies point one way: refunds → leads → accounts (integrations and ops may use any of
them, and nothing uses ops). webhooks is generic: it may use accounts, and refunds uses it.

Read from the source files themselves (every module, commands and migrations included), not
from what a test run happens to import.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "leads", "refunds", "integrations", "ops", "webhooks")
FORBIDDEN = {
    "accounts": {"leads", "refunds", "integrations", "ops", "webhooks"},
    "leads": {"refunds", "integrations", "ops", "webhooks"},
    "refunds": {"ops"},
    "integrations": {"ops"},
    "webhooks": {"leads", "refunds", "integrations", "ops"},
}


def imported_apps(path: Path) -> set[str]:
    """The project apps a module imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(APPS)
    return found


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_no_module_imports_against_the_arrow(app):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_apps(path) & FORBIDDEN[app])
        for path in sorted((ROOT / app).rglob("*.py"))
        if imported_apps(path) & FORBIDDEN[app]
    }
    assert wrong == {}


def test_the_check_sees_an_import_against_the_arrow(tmp_path):
    module = tmp_path / "example.py"
    module.write_text("def f():\n    from refunds.models import RefundRequest\n")
    assert imported_apps(module) == {"refunds"}


def test_leads_reads_no_refund_setting_or_relation():
    words = ("REFUND_POLICY", "refund_request", "refunds.")
    offenders = [
        (str(path.relative_to(ROOT)), word)
        for path in sorted((ROOT / "leads").rglob("*.py"))
        if "migrations" not in path.parts
        for word in words
        if word in path.read_text()
    ]
    assert offenders == []


def test_leads_templates_leave_refunds_to_the_refunds_tags():
    """The thread and Messages pages show refunds only through the lead_refunds tags."""
    refund_urls = ("'report'", "'withdraw_request'", "'inbox_message'", "'credits'")
    offenders = [
        (path.name, word)
        for path in sorted((ROOT / "templates" / "leads").glob("*.html"))
        for word in ("refund_request", *refund_urls)
        if word in path.read_text()
    ]
    assert offenders == []
