#!/usr/bin/env python3
"""Validate simulator response bodies against Persona's official OpenAPI document.

Usage: validate_against_spec.py SPEC.json MANIFEST.json

MANIFEST is a JSON array of {"file", "path", "method", "status"}: each file holds one response
body, checked against the JSON schema the spec gives for that operation's response
(`paths[path][method].responses[status].content["application/json"].schema`, following a
`$ref` to `components/responses`). Schema `$ref`s resolve against the whole spec document, so
`#/components/schemas/...` works as in the spec itself.

Exit status: 0 all valid; 1 some document invalid or not described by the spec; 2 usage or
setup error (missing file, no such operation, jsonschema not installed).
"""

import json
import sys

SPEC_URI = "urn:persona-openapi"
# OpenAPI 3.1's default dialect for schema objects.
DEFAULT_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def resolve_pointer(document, pointer):
    node = document
    for token in pointer.lstrip("/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        from jsonschema.validators import validator_for
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012
    except ImportError as error:
        print(f"setup error: {error} (pip install jsonschema)", file=sys.stderr)
        return 2

    with open(argv[1]) as handle:
        spec = json.load(handle)
    with open(argv[2]) as handle:
        manifest = json.load(handle)
    if not manifest:
        print("setup error: empty manifest", file=sys.stderr)
        return 2

    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))
    dialect = spec.get("jsonSchemaDialect", DEFAULT_DIALECT)
    validator_class = validator_for({"$schema": dialect})

    failures = 0
    for item in manifest:
        path, method, status = item["path"], item["method"].lower(), str(item["status"])
        label = f"{method.upper()} {path} {status} ({item['file']})"
        try:
            operation = spec["paths"][path][method]
        except KeyError:
            print(f"setup error: the spec has no operation {method.upper()} {path}", file=sys.stderr)
            return 2
        response = operation.get("responses", {}).get(status)
        if response is None:
            print(f"FAIL {label}: the spec lists no {status} response for this operation")
            failures += 1
            continue
        pointer = f"/paths/{escape(path)}/{method}/responses/{status}"
        while "$ref" in response:
            reference = response["$ref"]
            if not reference.startswith("#/"):
                print(f"setup error: external reference {reference}", file=sys.stderr)
                return 2
            pointer = reference[1:]
            response = resolve_pointer(spec, pointer)
        if "schema" not in response.get("content", {}).get("application/json", {}):
            print(f"FAIL {label}: the spec gives no application/json schema")
            failures += 1
            continue

        schema = {"$schema": dialect, "$ref": f"{SPEC_URI}#{pointer}/content/application~1json/schema"}
        validator = validator_class(schema, registry=registry, format_checker=validator_class.FORMAT_CHECKER)
        with open(item["file"]) as handle:
            document = json.load(handle)
        errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
        if errors:
            failures += 1
            print(f"FAIL {label}")
            for error in errors:
                location = "/".join(str(part) for part in error.absolute_path) or "(root)"
                print(f"  at {location}: {error.message}")
        else:
            print(f"ok   {label}")

    print(f"{len(manifest) - failures} of {len(manifest)} documents valid")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
