#!/usr/bin/env python3
"""Translate a SAM template to plain CloudFormation, offline.

Usage: sam-translate.py <sam-template.yaml> <out.json>

Runs the SAM translator (samtranslator, the library `sam validate` and CloudFormation's
AWS::Serverless transform use) without AWS: the managed-policy loader, which would call IAM's
ListPolicies, is replaced by one that knows no policies (the template names none), and the
region comes from AWS_DEFAULT_REGION. Resource Metadata (checkov skips) is passed through to
the generated resources, so the translation is checked with the same justified skips.
"""

import json
import sys

import yaml
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform


# Local code paths are what `sam build` packages; the translator only accepts S3 locations, so,
# like `sam validate`, point them at a placeholder object.
CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
}


def replace_local_code(template):
    for resource in template.get("Resources", {}).values():
        prop = CODE_PROPERTIES.get(resource.get("Type"))
        props = resource.get("Properties") or {}
        value = props.get(prop)
        if isinstance(value, str) and not value.startswith("s3://"):
            props[prop] = "s3://placeholder-bucket/code.zip"


class NoManagedPolicies:
    """Stands in for samtranslator's ManagedPolicyLoader: no IAM calls, no names known."""

    def load(self):
        return {}


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        # The template uses long-form intrinsics only (Ref:, Fn::GetAtt:), so a plain YAML
        # reader is enough; a short-form tag would fail here loudly.
        template = yaml.safe_load(f)
    replace_local_code(template)
    try:
        translated = transform(template, {}, NoManagedPolicies(), passthrough_metadata=True)
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"sam-translate: {source}: {cause.message}", file=sys.stderr)
        return 1
    with open(target, "w", encoding="utf-8") as f:
        json.dump(translated, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
