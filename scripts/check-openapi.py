#!/usr/bin/env python3
"""Validates the node's OpenAPI 3.1 documents (Sources/ChorusGateway/OpenAPI/OpenAPI*.swift).

Each document is the YAML inside the raw string literal of its Swift file. Prints one line per
document; exits 1 if any is not a valid OpenAPI 3.1 document.

    python3 scripts/check-openapi.py
"""

import pathlib
import sys

try:
    import yaml
    from openapi_spec_validator import validate
except ImportError:
    sys.exit("check-openapi: needs openapi-spec-validator and PyYAML: pip install openapi-spec-validator pyyaml")

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCUMENTS = ["OpenAPIV1.swift", "OpenAPIStream.swift"]
OPERATIONS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def extract(path):
    """The YAML of the raw string literal in `path`."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith('#"""'))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == '"""#')
    return "\n".join(lines[start + 1 : end]) + "\n"


def main():
    failed = False
    for name in DOCUMENTS:
        path = ROOT / "Sources/ChorusGateway/OpenAPI" / name
        try:
            document = yaml.safe_load(extract(path))
            validate(document)
        except Exception as error:  # a missing file, bad YAML or an invalid document
            print(f"{name}: INVALID: {error}")
            failed = True
            continue
        operations = sum(len(OPERATIONS & item.keys()) for item in document["paths"].values())
        print(f"{name}: valid OpenAPI {document['openapi']}, {len(document['paths'])} paths, {operations} operations")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
