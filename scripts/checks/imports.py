#!/usr/bin/env python3
"""The module graph of clp-flow, and the check that the code keeps to it.

`RULES` is the one definition of which module may import which. The check reads every Swift file
under Sources/ and bench/ (each file belongs to the target whose folder holds it), collects its
`import` lines (plain, `@testable`, `@_exported`, with or without an access modifier, inside
`#if canImport` too) and fails when a file imports a module its target may not use. It then
compares the dependency lists declared in Package.swift (through `swift package dump-package`) with
the same table: a declared dependency the rules forbid, or one that no file of the target imports,
is an error as well.

    python3 scripts/checks/imports.py [--root DIR] [--package-json FILE]
    python3 scripts/checks/imports.py --markdown     # the table docs/architecture.md shows
"""
import argparse
import json
import os
import re
import subprocess
import sys

# Modules every target may import: the platform.
PLATFORM = {"Foundation", "FoundationNetworking", "Glibc", "Darwin", "Dispatch", "Testing"}

# target -> (modules it may import, why). Order is bottom-up.
RULES = {
    "ClpFlowCore": ({"CLibCrypto"},
                    "foundations every module shares: JSON values, canonical JSON, hashing, seeded random numbers, processes"),
    "ClpFlowSmallGemm": (set(),
                         "C kernels for small-row products and GELU, chosen by CPU features at run time; imports nothing"),
    "ClpFlowKernels": ({"COpenBLAS", "ClpFlowSmallGemm"},
                       "numeric kernels over raw buffers; knows nothing but BLAS and the C kernels"),
    "ClpFlowWorkflow": ({"CLibYAML", "ClpFlowCore"},
                        "the YAML language: parse, type, validate; the only module that links libyaml"),
    "ClpFlowPlanner": ({"ClpFlowWorkflow", "ClpFlowCore"},
                       "workflow -> plan of steps with cache keys and typed step configs"),
    "ClpFlowEngine": ({"ClpFlowKernels", "ClpFlowCore"},
                      "model, tokenizer, RL, CLP, rewards, evaluation; configured by its own plain structs, never by the workflow language"),
    "ClpFlowReport": ({"ClpFlowCore"},
                      "renders report data it is given; runs no model"),
    "ClpFlowRunner": ({"ClpFlowPlanner", "ClpFlowCore", "GRDB", "Logging"},
                      "executes a plan's steps as processes (local or Slurm), artifact store, SQLite run store; never trains or evaluates itself"),
    "ClpFlowSteps": ({"ClpFlowEngine", "ClpFlowKernels", "COpenBLAS", "ClpFlowWorkflow", "ClpFlowPlanner",
                      "ClpFlowRunner", "ClpFlowReport", "ClpFlowCore"},
                     "what each step kind does: maps step configs onto engine configs and writes artifacts"),
    "ClpFlowServe": ({"ClpFlowSteps", "ClpFlowEngine", "ClpFlowKernels", "ClpFlowWorkflow", "ClpFlowCore",
                      "FlyingFox", "FlyingSocks"},
                     "HTTP playground over trained runs"),
    "ClpFlowCLI": ({"ClpFlowWorkflow", "ClpFlowPlanner", "ClpFlowEngine", "ClpFlowRunner", "ClpFlowReport",
                    "ClpFlowSteps", "ClpFlowServe", "ClpFlowCore", "ArgumentParser", "Logging"},
                   "argument parsing, one command per file, over the libraries"),
    "clp-flow": ({"ClpFlowCLI"}, "the executable: calls the CLI's entry point"),
    "clp-flow-runner-testhost": ({"ClpFlowRunner", "ClpFlowPlanner", "ClpFlowCore"},
                                 "a runner in its own process for kill tests"),
    "clp-flow-bench-planner": ({"ClpFlowPlanner", "ClpFlowWorkflow", "ClpFlowCore"}, "planner benchmark"),
    "clp-flow-bench": ({"ClpFlowEngine", "ClpFlowKernels", "ClpFlowCore"}, "engine benchmarks"),
}

# Targets whose folder is not Sources/<name>.
PATHS = {"clp-flow-bench-planner": "bench/planner/Sources", "clp-flow-bench": "bench/clp-flow-bench"}

IMPORT = re.compile(r"^\s*(?:@\w+\s+)*(?:(?:public|internal|package|private|fileprivate)\s+)?import\s+"
                    r"(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)")


def target_dir(root, target):
    return os.path.join(root, PATHS.get(target, os.path.join("Sources", target)))


def imports_of(path):
    out = []
    in_block_comment = False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            s = line
            if in_block_comment:
                if "*/" in s:
                    in_block_comment = False
                    s = s.split("*/", 1)[1]
                else:
                    continue
            if s.lstrip().startswith("/*") and "*/" not in s:
                in_block_comment = True
                continue
            m = IMPORT.match(s)
            if m:
                out.append((n, m.group(1)))
    return out


def check_sources(root):
    errors = []
    used = {}
    for target, (allowed, _) in RULES.items():
        d = target_dir(root, target)
        if not os.path.isdir(d):
            errors.append(f"{os.path.relpath(d, root)}: folder of target {target} not found")
            continue
        used[target] = set()
        for dirpath, _, files in os.walk(d):
            for name in sorted(files):
                if not name.endswith(".swift"):
                    continue
                p = os.path.join(dirpath, name)
                for n, mod in imports_of(p):
                    if mod in PLATFORM:
                        continue
                    used[target].add(mod)
                    if mod not in allowed:
                        errors.append(f"{os.path.relpath(p, root)}:{n}: {target} may not import {mod} "
                                      f"(allowed: {', '.join(sorted(allowed)) or 'platform only'}; "
                                      f"rules in scripts/checks/imports.py)")
    src = os.path.join(root, "Sources")
    if os.path.isdir(src):
        for name in sorted(os.listdir(src)):
            full = os.path.join(src, name)
            if not os.path.isdir(full) or name in RULES:
                continue
            has_swift = any(f.endswith(".swift") for _, _, fs in os.walk(full) for f in fs)
            if has_swift:
                errors.append(f"Sources/{name}: target has no import rule; add it to RULES in scripts/checks/imports.py")
    return errors, used


def product_modules(dep):
    """Module names a Package.swift dependency entry brings in."""
    if "byName" in dep:
        return [dep["byName"][0]]
    if "target" in dep:
        return [dep["target"][0]]
    if "product" in dep:
        name = dep["product"][0]
        # Products whose module names differ from the product name.
        return {"GRDB": ["GRDB"], "FlyingFox": ["FlyingFox", "FlyingSocks"]}.get(name, [name])
    return []


def check_package(package, used):
    errors = []
    for t in package["targets"]:
        name = t["name"]
        if t.get("type") == "system" or name not in RULES:
            if t.get("type") not in ("system", "test") and name not in RULES:
                errors.append(f"Package.swift: target {name} has no import rule in scripts/checks/imports.py")
            continue
        allowed = RULES[name][0]
        for dep in t.get("dependencies", []):
            mods = product_modules(dep)
            for mod in mods:
                if mod not in allowed:
                    errors.append(f"Package.swift: {name} declares a dependency on {mod}, which the rules forbid")
            if mods and not any(m in used.get(name, set()) for m in mods):
                errors.append(f"Package.swift: {name} declares {mods[0]} but no file of it imports it (unused dependency)")
    return errors


def markdown():
    lines = ["| Module | May import | Why |", "|---|---|---|"]
    for target, (allowed, why) in RULES.items():
        if target.startswith("clp-flow-bench"):
            continue
        mods = ", ".join(f"`{m}`" for m in sorted(allowed)) or "platform only"
        lines.append(f"| `{target}` | {mods} | {why} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap.add_argument("--package-json", help="output of `swift package dump-package` (run here when absent)")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    if a.markdown:
        print(markdown())
        return 0
    root = os.path.abspath(a.root)
    errors, used = check_sources(root)
    if a.package_json:
        with open(a.package_json) as f:
            package = json.load(f)
    else:
        out = subprocess.run(["swift", "package", "dump-package"], cwd=root, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"imports: swift package dump-package failed:\n{out.stderr}", file=sys.stderr)
            return 1
        package = json.loads(out.stdout)
    errors += check_package(package, used)
    doc = os.path.join(root, "docs", "architecture.md")
    if os.path.exists(doc):
        with open(doc, encoding="utf-8") as f:
            if markdown() not in f.read():
                errors.append("docs/architecture.md: the module table differs from the rules; "
                              "paste the output of `python3 scripts/checks/imports.py --markdown`")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"imports: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    n = sum(len(v) for v in used.values())
    print(f"imports: ok ({len(used)} targets, {n} module dependencies, all within the rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
