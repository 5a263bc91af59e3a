"""``huleedu-operator``: run the operator, render children offline, print the CRD.

The CLI is the outermost layer: it may import the controller (for ``run``) but the
controller never imports it.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import sys
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import BaseModel, ValidationError

from huleedu_operator.api.crd import custom_resource_definition
from huleedu_operator.api.v1alpha1 import HuleEduService, looks_like_a_credential
from huleedu_operator.render import Capability, RenderDefaults, RenderError, render
from huleedu_runtime.cli import new as scaffold_new


class _NoAliasDumper(yaml.SafeDumper):
    """A SafeDumper that writes a shared object out again instead of as ``&id001``/``*id001``:
    reviewers and GitOps diffs read rendered manifests, and anchors hide what changed."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(documents: Iterable[dict[str, Any]]) -> str:
    return yaml.dump_all(
        list(documents), Dumper=_NoAliasDumper, sort_keys=False, explicit_start=True
    )


def format_validation_error(error: ValidationError, source: str) -> list[str]:
    """One line per problem, each naming the field path (``spec.kafka.topics``)."""
    lines: list[str] = []
    for item in error.errors():
        path = _path(item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = _unknown_field(item["loc"])
        # Rule messages already start with their field path (and may be several, joined
        # by "; "). A message itself may contain "; " before its fix, so split only
        # where the next message's field path begins.
        parts = (
            re.split(r"; (?=(?:spec|metadata)\.)", message)
            if message.startswith(("spec.", "metadata."))
            else [f"{path}: {message}"]
        )
        indices = [p for p in item["loc"] if isinstance(p, int)]
        lines.extend(f"{source}: {_with_indices(part, indices)}" for part in parts)
    return lines


def _path(loc: tuple[int | str, ...]) -> str:
    """``("spec", "env", 0, "name")`` as ``spec.env[0].name``, as the API server writes it."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``X | None``, ``list[X]`` or ``dict[str, X]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _fields_beside(loc: tuple[int | str, ...]) -> list[str]:
    """The wire names of the fields of the object holding ``loc``'s last part."""
    model: type[BaseModel] | None = HuleEduService
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = {f.alias or name: f for name, f in model.model_fields.items()} if model else {}
        if part not in fields:
            return []
        model = _model_in(fields[part].annotation)
    return [f.alias or name for name, f in model.model_fields.items()] if model else []


_KAFKA_CREDENTIAL_FIELDS = {"password", "username", "user", "passwd", "token"}


def _unknown_field(loc: tuple[int | str, ...]) -> str:
    """Pydantic's "Extra inputs are not permitted", said as what to do about it."""
    name = str(loc[-1])
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)  # dbPassword -> db_Password
    if (
        "security" in loc
        and "kafka" in loc
        and (name.lower() in _KAFKA_CREDENTIAL_FIELDS or looks_like_a_credential(words))
    ):
        return (
            "credentials never go in the resource; put the username and password in a "
            "Secret and name it in spec.kafka.security.sasl.secretRef (keys usernameKey, "
            "passwordKey), then remove this field"
        )
    if looks_like_a_credential(words):
        return (
            "unknown field, and credentials never go in the resource; keep the value in a "
            "Secret and pass it as env[].valueFrom.secretKeyRef, then remove this field"
        )
    near = difflib.get_close_matches(name, _fields_beside(loc), n=1, cutoff=0.6)
    hint = f"did you mean {near[0]}? " if near else ""
    return f"unknown field; {hint}remove or rename it (kubectl explain hes.spec lists the fields)"


def _with_indices(message: str, indices: list[int]) -> str:
    """``spec.env[]: ...`` as ``spec.env[0]: ...``: a rule on a list item is written once
    for every item, the error's location says which one (as the API server's path does)."""
    path, sep, rest = message.partition(": ")
    for index in indices:
        if "[]" not in path:
            break
        path = path.replace("[]", f"[{index}]", 1)
    return f"{path}{sep}{rest}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="huleedu-operator")
def main() -> None:
    """Deploy HuleEdu services on Kubernetes from HuleEduService resources."""


@main.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout.",
)
def crd(output: Path | None) -> None:
    """Print the HuleEduService CustomResourceDefinition (generated from the models)."""
    text = dump_yaml([custom_resource_definition()])
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)


@main.command(name="render")
@click.option(
    "-f",
    "--filename",
    "files",
    required=True,
    multiple=True,
    type=click.File(),
    help="HuleEduService YAML (several documents allowed; '-' for stdin).",
)
@click.option(
    "--capability",
    "capabilities",
    multiple=True,
    type=click.Choice([c.value for c in Capability]),
    help="Render as if the cluster served this optional API.",
)
@click.option("--namespace", "-n", default=None, help="Namespace for resources without one.")
@click.option("--kafka-bootstrap-servers", envvar="HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS")
@click.option("--runtime-image", envvar="HULEEDU_OPERATOR_RUNTIME_IMAGE", default=None)
@click.option(
    "--gateway-name",
    envvar="HULEEDU_OPERATOR_GATEWAY_NAME",
    default=None,
    help="Gateway that HTTPRoutes attach to (with --capability gateway-api).",
)
@click.option("--gateway-namespace", envvar="HULEEDU_OPERATOR_GATEWAY_NAMESPACE", default=None)
@click.option("--ingress-class-name", envvar="HULEEDU_OPERATOR_INGRESS_CLASS_NAME", default=None)
def render_command(
    files: tuple[Any, ...],
    capabilities: tuple[str, ...],
    namespace: str | None,
    kafka_bootstrap_servers: str | None,
    runtime_image: str | None,
    gateway_name: str | None,
    gateway_namespace: str | None,
    ingress_class_name: str | None,
) -> None:
    """Print the children the operator would create, offline, for GitOps review.

    Exits 1 and lists every problem (each naming the field and the fix) when a
    resource is invalid.
    """
    defaults = RenderDefaults(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        capabilities=frozenset(Capability(c) for c in capabilities),
        gateway_name=gateway_name,
        gateway_namespace=gateway_namespace,
        ingress_class_name=ingress_class_name,
    )
    if runtime_image:
        defaults = dataclasses.replace(defaults, runtime_image=runtime_image)
    errors: list[str] = []
    out: list[dict[str, Any]] = []
    for handle in files:
        for index, document in enumerate(yaml.safe_load_all(handle)):
            if not document:
                continue
            source = f"{handle.name}[{index}]"
            if namespace and not document.get("metadata", {}).get("namespace"):
                document.setdefault("metadata", {})["namespace"] = namespace
            try:
                resource = HuleEduService.model_validate(document)
                rendered = render(resource, defaults)
            except ValidationError as exc:
                errors.extend(format_validation_error(exc, source))
                continue
            except RenderError as exc:
                errors.append(f"{source}: {exc}")
                continue
            errors.extend(f"{source}: warning: {w}" for w in rendered.warnings)
            out.extend(rendered.children)
    hard = [e for e in errors if ": warning: " not in e]
    for line in errors:
        click.echo(line, err=True)
    if hard:
        sys.exit(1)
    click.echo(dump_yaml(out), nl=False)


# The scaffolder is defined once, with its templates, in the runtime.
main.add_command(scaffold_new, name="new")


@main.command(name="import")
@click.option(
    "-f",
    "--file",
    "files",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="docker compose file; repeat for overrides (later files win, as with docker compose).",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Variables for ${VAR} interpolation. Default: .env beside the first file.",
)
@click.option("--namespace", "-n", default=None, help="Namespace for every manifest.")
@click.option(
    "--secrets/--no-secrets",
    default=True,
    help="Also print the Secret skeletons (keys only). --no-secrets prints only the "
    "HuleEduServices, e.g. to pipe into `render -f -`.",
)
@click.option(
    "--runtime-example",
    "runtime_examples",
    multiple=True,
    metavar="SERVICE",
    help="Convert the compose service SERVICE (repeat; `all` for every one) without its "
    "image, command and args: the operator's runtime image runs its bundled example app "
    "of the service's type instead, to try the wiring (probes, Services, Secrets, claims, "
    "Kafka) before the images are anywhere the cluster can pull from.",
)
def import_command(
    files: tuple[Path, ...],
    env_file: Path | None,
    namespace: str | None,
    secrets: bool,
    runtime_examples: tuple[str, ...],
) -> None:
    """Convert docker compose files to HuleEduServices and Secret skeletons.

    Prints the manifests on stdout and, on stderr, a report of what was not converted
    and why (infrastructure, one-shot containers, volumes, start ordering, ...).
    Credential values are never printed: Secrets carry keys with "<set me>".
    """
    try:
        from huleedu_operator.importer import convert
        from huleedu_operator.importer.load import ComposeLoadError, load_project

        project = load_project(list(files), env_file)
    except ModuleNotFoundError as exc:
        raise click.ClickException(
            f"{exc.name} is not installed: pip install 'huleedu-operator[import]'"
        ) from exc
    except ComposeLoadError as exc:
        raise click.ClickException(f"cannot read the compose files: {exc}") from exc
    examples = set(runtime_examples)
    if "all" in examples:
        examples = set(project.services)
    unknown = sorted(examples - set(project.services))
    if unknown:
        raise click.BadParameter(
            f"no compose service {', '.join(unknown)} (the services: "
            f"{', '.join(sorted(project.services))})",
            param_hint="--runtime-example",
        )
    result = convert(project, namespace, runtime_examples=examples)
    for line in result.report():
        click.echo(line, err=True)
    click.echo(dump_yaml(result.documents(with_secrets=secrets)), nl=False)


@main.command()
def run() -> None:
    """Run the operator against the current kubeconfig (or in-cluster config)."""
    from huleedu_operator.controller.main import run_operator

    run_operator()


if __name__ == "__main__":
    main()
