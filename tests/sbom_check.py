"""Validating SBOMs against the official CycloneDX schema, as cyclonedx-python-lib ships it."""
import json


def valid_cyclonedx(text):
    """The parsed document; AssertionError with the schema's complaint when it is not valid CycloneDX 1.6."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, f"not valid CycloneDX 1.6: {error}"
    return json.loads(text)
