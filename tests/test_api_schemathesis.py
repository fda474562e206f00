"""The JSON API against its own OpenAPI document, by property-based tests (schemathesis).

Schemathesis reads ``/api/openapi.json`` as an administrator sees it and, for every operation
it lists (listings, rows, creates, updates, deletes, bulk calls), makes requests that fit the
document and requests that do not: wrong types, missing or unknown fields, garbage bodies and
keys. Every answer must be no server error and agree with the document (a documented status,
the documented content type, a body of the documented schema), and every request that breaks
the document must be refused with a 4xx. The demo shop and the hostile schema (names with
quotes, dots, slashes and markup, keys of every shape), each on every dialect.

The calls go in process through the Flask test client, with an administrator's session and
its CSRF token in ``X-CSRFToken``, as the API explorer sends them. They write, so every site
has a database of its own.

Two kinds of requests per operation: a few drawn at random (Hypothesis, positive and
negative), and a sample of schemathesis's coverage cases, which walk each parameter and body
member through its boundaries, wrong types, missing and unexpected members (these found the
bugs random drawing missed: a bulk operation whose ``op`` was a list, a JSON column holding
a bare number on SQLite). Bounded and reproducible: drawn deterministically (``derandomize``),
no example database, no deadline, no shrinking; ``DASHBOARD_TEST_API_EXAMPLES`` and
``DASHBOARD_TEST_API_COVERAGE`` ask for more of each. Drawing costs far more than answering,
so each request is drawn once and sent to the three dialects' sites wherever an operation
reads the same in their documents (a type that differs draws anew). Every failure is
collected and reported together, with its dialect and the request (as a curl command).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import typing as t
from collections.abc import Iterator
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, configuration, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from dashboard.db.demo import write_demo_database
from tests import schemas
from tests.checklist import site_on
from tests.databases import DIALECTS, make_database
from tests.site import Site, make_site

# Hypothesis keeps caches (Unicode tables, constants read from the code) in .hypothesis/ of the
# working directory: in the system's temporary folder instead, so a run leaves the checkout as it was.
configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "dashboard-hypothesis")

#: What every answer must satisfy, whatever was sent.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Requests that break the document must also be refused (with a documented 4xx).
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]
#: Examples per operation and generation mode; ``DASHBOARD_TEST_API_EXAMPLES`` asks for more (a
#: deeper run).
MAX_EXAMPLES = int(os.environ.get("DASHBOARD_TEST_API_EXAMPLES", "3"))
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
#: Coverage cases per operation and scenario (boundary values, wrong types, missing members...).
COVERAGE_PER_SCENARIO = int(os.environ.get("DASHBOARD_TEST_API_COVERAGE", "3"))

_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

#: The calls carry the administrator's session: no made-up token or session cookie (which would
#: replace the session's in the client) for the document's security schemes. A file
#: ``schemathesis.toml`` in the working directory changes nothing either.
_CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})

# A JSON-lines import is text, sent as text is (schemathesis knows no serializer for it).
schemathesis.serializer.alias("application/x-ndjson", "text/plain")

#: (an operation as its document reads, every reference resolved; mode) -> the requests drawn.
Drawn = dict[tuple[str, GenerationMode | str], list[t.Any]]


def _csrf_token(site: Site) -> str:
    """The session's CSRF token, as the API explorer's page carries it."""
    match = re.search(r'data-csrf-token="([^"]+)"', site.text("/api/"))
    assert match, "the API explorer carries no CSRF token"
    return match.group(1)


def _document(site: Site) -> dict[str, t.Any]:
    response = site.get("/api/openapi.json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return t.cast(dict[str, t.Any], response.get_json())


def _resolved(node: t.Any, document: dict[str, t.Any], seen: tuple[str, ...] = ()) -> t.Any:
    """``node`` with every local ``$ref`` replaced by what it names (a cycle stays a reference)."""
    if isinstance(node, list):
        return [_resolved(item, document, seen) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/") and reference not in seen:
        target: t.Any = document
        for part in reference[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return _resolved(target, document, (*seen, reference))
    return {name: _resolved(value, document, seen) for name, value in node.items()}


def _definition(operation: t.Any, document: dict[str, t.Any]) -> dict[str, t.Any]:
    """What decides the requests drawn for ``operation``: its path and its whole definition,
    every reference resolved."""
    path_item = document["paths"][operation.path]
    definition = {
        "path": operation.path,
        "parameters": path_item.get("parameters", []),
        "operation": path_item[operation.method.lower()],
    }
    return t.cast(dict[str, t.Any], _resolved(definition, document))


#: What a parameter's schema may hold and still take any text.
_ANY_TEXT = frozenset({"type", "title", "description", "example", "examples", "default"})


def _can_be_invalid(definition: dict[str, t.Any]) -> bool:
    """Whether some request to the operation breaks its document: it takes a body, a required
    argument (that could be left out) or an argument that is not just any text. A row's path
    with only its key and an optional ``If-Match`` has none, and looking for one costs seconds."""
    if "requestBody" in definition["operation"]:
        return True
    for parameter in [*definition["parameters"], *definition["operation"].get("parameters", [])]:
        schema = parameter.get("schema", {})
        if parameter.get("required") and parameter.get("in") != "path":
            return True
        # An empty path segment cannot be sent: a key's minLength leaves nothing to break.
        allowed = _ANY_TEXT | {"minLength"} if parameter.get("in") == "path" else _ANY_TEXT
        if schema.get("type") != "string" or set(schema) - allowed:
            return True
    return False


def _draw(operation: t.Any, mode: GenerationMode) -> list[t.Any]:
    """The requests schemathesis makes for ``operation`` in ``mode`` (none when nothing of it
    can be made invalid, such as a key that may be any text)."""
    cases: list[t.Any] = []

    @_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def collect(case: t.Any) -> None:
        cases.append(case)

    with contextlib.suppress(Unsatisfiable):
        collect()
    return cases


def _coverage_sample(schema: t.Any, operation: t.Any) -> list[t.Any]:
    """Schemathesis's coverage cases for ``operation`` (each parameter and body member at its
    boundaries, of the wrong type, missing, unexpected...), at most :data:`COVERAGE_PER_SCENARIO`
    of each scenario, taken evenly from its cases: deterministic, and cheap to make."""
    by_scenario: dict[t.Any, list[t.Any]] = {}
    for case in schema.iter_coverage_cases(
        operation,
        generation_modes=list(MODES),
        generation_config=schema.config.generation_for(operation=operation),
    ):
        by_scenario.setdefault(case.meta.phase.data.scenario, []).append(case)
    sample: list[t.Any] = []
    for cases in by_scenario.values():
        step = max(1, len(cases) // COVERAGE_PER_SCENARIO)
        sample += cases[::step][:COVERAGE_PER_SCENARIO]
    return sample


def _failures_of(site: Site, drawn: Drawn) -> list[str]:
    """Every operation of the site's document, each request drawn for it sent and checked."""
    document = _document(site)
    schema = schemathesis.openapi.from_dict(document, config=_CONFIG)
    headers = {"X-CSRFToken": _csrf_token(site)}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the document lists no operation"
    failures: list[str] = []
    for operation in operations:
        definition = _definition(operation, document)
        identity = json.dumps(definition, sort_keys=True)
        for mode in MODES if _can_be_invalid(definition) else MODES[:1]:
            if (identity, mode) not in drawn:
                drawn[identity, mode] = _draw(operation, mode)
        if (identity, "coverage") not in drawn:
            drawn[identity, "coverage"] = _coverage_sample(schema, operation)
        reported: set[str] = set()
        for stage in (*MODES, "coverage"):
            for case in drawn.get((identity, stage), ()):
                mode = case.meta.generation.mode
                checks = CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS
                failure = _failure(site, case, checks, headers)
                # The first failure of a kind for an operation says enough; the rest repeat it.
                kind = failure.split("\n", 2)[:2] if failure else None
                if failure is not None and str(kind) not in reported:
                    reported.add(str(kind))
                    failures.append(f"{operation.label} [{stage if stage == 'coverage' else mode.value}]: {failure}")
    return failures


def _failure(site: Site, case: t.Any, checks: list[t.Any], headers: dict[str, str]) -> str | None:
    """What went wrong sending ``case`` to ``site``, or ``None``."""
    try:
        response = case.call(session=site.client, app=site.app, headers=headers)
        case.validate_response(response, checks=checks, headers=headers)
    # Schemathesis raises its failures as a group (a BaseExceptionGroup), the app's own errors as they are.
    except (Exception, BaseExceptionGroup) as error:
        notes = "\n".join(getattr(error, "__notes__", ()))
        return f"{type(error).__name__}: {error}\n{notes}"
    return None


@contextlib.contextmanager
def _site(kind: str, dialect: str, folder: Path) -> Iterator[Site]:
    """An administrator's session on a fresh database of ``dialect`` holding ``kind``."""
    with make_database(dialect) as url:
        if kind == "demo":
            write_demo_database(url, rows=50)
            site = make_site(url, folder)
        else:
            schemas.create_hostile_schema(url)
            site = site_on(url, folder)
        try:
            yield site
        finally:
            site.state.engine.dispose()


def _failures_everywhere(kind: str, folder: Path) -> list[str]:
    drawn: Drawn = {}
    failures: list[str] = []
    for dialect in DIALECTS:
        with _site(kind, dialect, folder / dialect) as site:
            failures += [f"{dialect}: {failure}" for failure in _failures_of(site, drawn)]
    return failures


def test_the_demo_shop_api_agrees_with_its_document_on_every_dialect(tmp_path: Path) -> None:
    failures = _failures_everywhere("demo", tmp_path)
    assert not failures, "\n\n".join(failures)


def test_the_hostile_schema_api_agrees_with_its_document_on_every_dialect(tmp_path: Path) -> None:
    failures = _failures_everywhere("hostile", tmp_path)
    assert not failures, "\n\n".join(failures)
