"""Validate rendered Kubernetes manifests offline against the API's JSON schemas.

Usage: python validate_manifests.py [--kubernetes-version 1.33] RENDERED.yaml...

Every object is checked strictly (unknown fields are errors) with kubernetes-validate.
Custom resources have no schema there; the kinds this project uses are listed in
CRD_KINDS and reported as skipped, by name. Any other kind without a schema fails.
"""

import argparse
import sys

import kubernetes_validate
import yaml

# Custom resources: not in the Kubernetes API schemas, so schema validation is skipped for
# them (their operators validate them on apply).
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("external-secrets.io/v1", "SecretStore"),
    ("external-secrets.io/v1", "ExternalSecret"),
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubernetes-version", default="1.33.0")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    failures = 0
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            documents = [d for d in yaml.safe_load_all(f) if d]
        if not documents:
            print(f"{path}: no objects rendered")
            failures += 1
        for doc in documents:
            kind, api = doc.get("kind"), doc.get("apiVersion")
            name = f"{kind}/{doc.get('metadata', {}).get('name')}"
            if (api, kind) in CRD_KINDS:
                print(f"{path}: {name}: skipped (custom resource {api}, no schema offline)")
                continue
            try:
                kubernetes_validate.validate(doc, args.kubernetes_version, strict=True)
            except kubernetes_validate.ValidationError as e:
                print(f"{path}: {name}: INVALID: {e.message} at {'/'.join(map(str, e.path))}")
                failures += 1
            except kubernetes_validate.SchemaNotFoundError:
                print(f"{path}: {name}: no schema for {api} {kind} (a custom resource? add it to CRD_KINDS)")
                failures += 1
        print(f"{path}: {len(documents)} objects checked")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
