#!/usr/bin/env python3
"""Source checks that the compiler does not make.

1. Each target imports only modules it declares (directly or through its dependencies): SwiftPM
   may build an undeclared module first and let an import of it succeed on one machine and fail on
   another (the order of a parallel build differs).
2. No `?? .someCase(… try …)`: Swift 6.3.1 miscompiles an error thrown on the right side of `??`
   when it builds an enum case with payloads (Docs/Decisions/0005-toolchain-throwing-coalescing.md).

Run: python3 Tools/check_sources.py
"""
import re, sys, pathlib, json, subprocess

root = pathlib.Path(__file__).resolve().parent.parent
desc = json.loads(subprocess.run(["swift", "package", "describe", "--type", "json"], cwd=root,
                                 capture_output=True, text=True, check=True).stdout)
targets = {t["name"]: t for t in desc["targets"]}
deps = {n: set(t.get("target_dependencies", [])) | set(t.get("product_dependencies", [])) for n, t in targets.items()}
# Modules a product dependency brings (external packages): accept any module they are known to export.
external_ok = {"ArgumentParser", "SwiftProtobuf", "Foundation", "Testing", "Dispatch", "Glibc", "Darwin",
               "XCTest", "_Concurrency", "Synchronization", "os", "FoundationEssentials"}

def closure(name, seen=None):
    seen = set() if seen is None else seen
    for d in deps.get(name, ()):
        if d not in seen:
            seen.add(d)
            closure(d, seen)
    return seen

bad = []
for name, t in targets.items():
    allowed = closure(name) | external_ok | {name}
    for f in sorted((root / t["path"]).rglob("*.swift")):
        for m in re.findall(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*import\s+(?:struct\s+|enum\s+|class\s+|func\s+)?(\w+)", f.read_text(), re.M):
            if m not in allowed:
                bad.append(f"{f.relative_to(root)}: imports {m}, which target {name} does not depend on")
coalescing = re.compile(r"\?\?\s*(?:\w+)?\.\w+\((?:[^()]|\([^()]*\))*\btry\b", re.S)
for f in sorted((root / "Sources").rglob("*.swift")) + sorted((root / "Tests").rglob("*.swift")):
    text = re.sub(r"(^|\s)//[^\n]*", lambda m: m.group(1), f.read_text())   # comments out
    for m in coalescing.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        bad.append(f"{f.relative_to(root)}:{line}: a throwing enum case on the right of ?? (Swift 6.3.1 miscompiles it; use if-let)")
print("\n".join(bad) if bad else f"sources: {len(targets)} targets, every import declared, no throwing ?? enum case")
sys.exit(1 if bad else 0)
