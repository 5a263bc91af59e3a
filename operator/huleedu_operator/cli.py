"""``huleedu-operator``: run the operator, render children offline, print the CRD.

The CLI is the outermost layer: it may import the controller (for ``run``) but the
controller never imports it.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import ValidationError

from huleedu_operator.api.crd import custom_resource_definition
from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render import Capability, RenderDefaults, RenderError, render


def dump_yaml(documents: Iterable[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(list(documents), sort_keys=False, explicit_start=True)


def format_validation_error(error: ValidationError, source: str) -> list[str]:
    """One line per problem, each naming the field path (``spec.kafka.topics``)."""
    lines: list[str] = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
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


@main.command()
@click.argument("kind", type=click.Choice(["http", "worker"]))
@click.argument("name")
@click.option(
    "--output",
    "-o",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write into (default: ./NAME).",
)
def new(kind: str, name: str, output_dir: Path | None) -> None:
    """Scaffold a pattern-conformant service (code, tests, Dockerfile, HuleEduService)."""
    # The templates live with the runtime (one source); they need only jinja2.
    from huleedu_runtime.scaffold import ScaffoldError, next_steps, runtime_source, write_service

    target = output_dir or Path(name)
    try:
        written = write_service(kind, name, target)
    except ScaffoldError as exc:
        raise click.UsageError(str(exc)) from exc
    for path in written:
        click.echo(f"created {path}")
    click.echo("next, in a fresh virtualenv:")
    for step in next_steps(target, runtime_source()):
        click.echo(f"  {step}")


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
def import_command(
    files: tuple[Path, ...], env_file: Path | None, namespace: str | None, secrets: bool
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
    result = convert(project, namespace)
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
