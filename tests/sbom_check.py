"""Validating SBOMs: CycloneDX against its official schema, as cyclonedx-python-lib ships it; SPDX 2.3 against
its official JSON schema (vendored with its license in tests/schemas/) and with the SPDX project's own spdx-tools
(its parser reads the JSON into the 2.3 model, its validator checks the document and its relationships)."""
import json
import os

SPDX_SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas", "spdx-2.3.schema.json")


def valid_cyclonedx(text):
    """The parsed document; AssertionError with the schema's complaint when it is not valid CycloneDX 1.6."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, f"not valid CycloneDX 1.6: {error}"
    return json.loads(text)


def valid_spdx(text):
    """The parsed document; AssertionError with the schema's or spdx-tools' complaints when it is not a valid SPDX
    2.3 document."""
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
    import jsonschema
    data = json.loads(text)
    assert data.get("spdxVersion") == "SPDX-2.3", data.get("spdxVersion")
    with open(SPDX_SCHEMA) as fh:
        schema = json.load(fh)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, f"not valid against the SPDX 2.3 JSON schema: {[e.message for e in errors[:3]]}"
    document = JsonLikeDictParser().parse(data)
    problems = [m.validation_message for m in validate_full_spdx_document(document, "SPDX-2.3")]
    assert not problems, f"not valid SPDX 2.3: {problems}"
    return data
