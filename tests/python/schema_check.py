"""Validates workflow files against schemas/clp-flow.schema.json the way an editor would.

Every YAML file under workflows/ and examples/ and every valid test fixture must be accepted; the
invalid fixtures whose problem is structural (unknown keys, wrong types, out-of-range values) must
be rejected, so the schema and the loader agree. YAML is read with the YAML 1.2 core schema (as
the loader does): `yes`/`on` are strings, `1e-3` is a number.
"""
import json
import pathlib
import re
import sys

import jsonschema
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "ClpFlowWorkflowTests" / "Fixtures"


class CoreLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core-schema resolution of plain scalars."""


CoreLoader.yaml_implicit_resolvers = {}
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))
CoreLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
CoreLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


def construct_int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


def construct_float(loader, node):
    text = loader.construct_scalar(node).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


CoreLoader.add_constructor("tag:yaml.org,2002:int", construct_int)
CoreLoader.add_constructor("tag:yaml.org,2002:float", construct_float)

# Invalid fixtures whose problem JSON Schema cannot see: JSON has no infinity or NaN.
SCHEMA_BLIND = {"type-alpha-infinite", "type-temperature-nan"}


def main() -> int:
    schema = json.loads((ROOT / "schemas" / "clp-flow.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failures = []
    checked = 0

    def errors_of(path):
        data = yaml.load(path.read_text(), Loader=CoreLoader)
        return sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))

    must_pass = sorted(p for d in ("workflows", "examples") for p in (ROOT / d).rglob("*.yaml"))
    must_pass += sorted((FIXTURES / "valid").glob("*.yaml")) + sorted((FIXTURES / "templates").glob("*.yaml"))
    for path in must_pass:
        checked += 1
        errs = errors_of(path)
        if errs:
            e = errs[0]
            failures.append(f"{path.relative_to(ROOT)}: rejected by the schema at /{'/'.join(map(str, e.absolute_path))}: {e.message}")
    must_fail = sorted(p for p in (FIXTURES / "invalid").glob("*.yaml")
                       if p.stem.split("-")[0] in ("type", "unknown") and p.stem not in SCHEMA_BLIND)
    for path in must_fail:
        checked += 1
        if not errors_of(path):
            failures.append(f"{path.relative_to(ROOT)}: the loader rejects it but the schema accepts it")
    for f in failures:
        print("schema-check: " + f, file=sys.stderr)
    print(f"schema-check: {checked} files checked, {len(failures)} disagreements")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
