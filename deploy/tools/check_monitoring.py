"""Check the Grafana dashboards and the alert rules against the metrics catalogue.

Usage: python check_monitoring.py deploy/monitoring

- deploy/monitoring/metrics.yml lists every metric the project serves or plans to serve,
  plus a few external series (up, kube-state-metrics).
- Every dashboard in dashboards/*.json must parse, have a unique uid and title, and every
  panel must have at least one target whose PromQL expression names only catalogued
  metrics (a histogram's _bucket/_sum/_count series count as the histogram).
- Every alert rule's expression in alerts.yml must name only catalogued metrics too, and its
  runbook annotation must point at a heading of docs/operations.md.
- With promtool on PATH, every dashboard expression is also parsed by Prometheus itself (as
  a recording rule in a scratch rule file passed to `promtool check rules`).
Exits 1 with one line per problem.
"""

import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "le"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels, keywords removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)             # string literals
    text = re.sub(r"\{[^}]*\}", "", text)                        # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)                       # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word = match.group(0)
        rest = text[match.end():].lstrip()
        if rest.startswith("("):                                 # a function
            continue
        if word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def known(name: str, catalogue: dict[str, str], external: set[str]) -> bool:
    if name in catalogue or name in external:
        return True
    for suffix in HISTOGRAM_SUFFIXES:
        base = name[: -len(suffix)] if name.endswith(suffix) else None
        if base and catalogue.get(base) == "histogram":
            return True
    return False


def panels(items):
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))               # rows hold panels


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/monitoring")
    problems: list[str] = []
    catalogue_doc = yaml.safe_load((root / "metrics.yml").read_text(encoding="utf-8"))
    catalogue = {m["name"]: m["type"] for m in catalogue_doc["metrics"]}
    external = set(catalogue_doc.get("external", []))
    for m in catalogue_doc["metrics"]:
        if m.get("status") not in ("exported", "planned"):
            problems.append(f"metrics.yml: {m['name']}: status must be exported or planned")

    alerts = yaml.safe_load((root / "alerts.yml").read_text(encoding="utf-8"))
    runbook = root.parent.parent / "docs" / "operations.md"
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in runbook.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    } if runbook.is_file() else set()
    rules = 0
    for group in alerts["groups"]:
        for rule in group["rules"]:
            rules += 1
            label = rule.get("alert", rule.get("record"))
            for name in sorted(metric_names(rule["expr"])):
                if not known(name, catalogue, external):
                    problems.append(f"alerts.yml: {label}: unknown metric {name}")
            link = rule.get("annotations", {}).get("runbook")
            if link:
                page, _, anchor = link.partition("#")
                if page != "docs/operations.md" or anchor not in anchors:
                    problems.append(f"alerts.yml: {label}: runbook {link} is no heading of docs/operations.md")

    dashboards = sorted((root / "dashboards").glob("*.json"))
    if not dashboards:
        problems.append("dashboards/: no dashboards")
    uids, titles, exprs = set(), set(), []
    for path in dashboards:
        try:
            dashboard = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            problems.append(f"{path.name}: not JSON: {e}")
            continue
        for key, seen in (("uid", uids), ("title", titles)):
            value = dashboard.get(key)
            if not value or value in seen:
                problems.append(f"{path.name}: missing or duplicate {key} {value!r}")
            seen.add(value)
        count = 0
        for panel in panels(dashboard.get("panels", [])):
            if panel.get("type") == "row":
                continue
            count += 1
            where = f"{path.name}: panel {panel.get('id')} {panel.get('title')!r}"
            targets = [t for t in panel.get("targets", []) if t.get("expr")]
            if not targets:
                problems.append(f"{where}: no target with an expr")
            for target in targets:
                exprs.append((where, target["expr"]))
                names = metric_names(target["expr"])
                if not names:
                    problems.append(f"{where}: expr names no metric: {target['expr']}")
                for name in sorted(names):
                    if not known(name, catalogue, external):
                        problems.append(f"{where}: unknown metric {name}")
        if count == 0:
            problems.append(f"{path.name}: no panels")

    promtool = shutil.which("promtool")
    if promtool and exprs:
        scratch = {"groups": [{"name": "dashboards", "rules": [
            {"record": f"dashboard:expr:{i}", "expr": expr} for i, (_, expr) in enumerate(exprs)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            yaml.safe_dump(scratch, f)
        result = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
        pathlib.Path(f.name).unlink()
        if result.returncode != 0:
            problems.append("dashboard expressions that Prometheus cannot parse:\n" + result.stdout + result.stderr)

    for problem in problems:
        print(problem)
    print(f"monitoring: {len(catalogue)} metrics catalogued, {rules} alert rules, "
          f"{len(dashboards)} dashboards with {len(exprs)} expressions checked"
          + ("" if promtool else " (promtool not found: PromQL syntax not checked)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
