"""The user's volumes: pod volumes and mounts, and the PersistentVolumeClaims the
operator creates for new claims.

Every volume works under the restricted Pod Security Standard and a read-only root
filesystem: the pod's ``fsGroup`` (the runtime UID) makes claims and emptyDirs writable
by the app, ``fsGroupChangePolicy: OnRootMismatch`` keeps a large claim from being
re-chowned on every start, and ConfigMap/Secret files are mounted read-only.
"""

from __future__ import annotations

from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService, VolumeSpec

SECRET_FILE_MODE = 0o440
"""Owner and group (the fsGroup) may read a Secret's files; nobody else."""


def claim_name(resource: HuleEduService, volume: VolumeSpec) -> str:
    """The name of the claim a volume mounts (existing, or the one the operator creates)."""
    claim = volume.persistent_volume_claim
    assert claim is not None
    return claim.claim_name or f"{resource.name}-{volume.name}"


def render_claims(resource: HuleEduService) -> list[dict[str, Any]]:
    """A PersistentVolumeClaim for every new claim (``size`` set); existing ones are
    only referenced."""
    children: list[dict[str, Any]] = []
    for volume, claim in resource.spec.claims():
        if claim.size is None:
            continue
        spec: dict[str, Any] = {
            "accessModes": list(claim.access_modes or ["ReadWriteOnce"]),
            "resources": {"requests": {"storage": claim.size}},
        }
        if claim.storage_class_name:
            spec["storageClassName"] = claim.storage_class_name
        children.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim_name(resource, volume)},
                "spec": spec,
            }
        )
    return children


def user_volumes(resource: HuleEduService) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Pod volumes and container mounts for ``spec.volumes``, in the order given."""
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for v in resource.spec.volumes or []:
        mount: dict[str, Any] = {"name": v.name, "mountPath": v.mount_path}
        if v.persistent_volume_claim is not None:
            source: dict[str, Any] = {
                "persistentVolumeClaim": {"claimName": claim_name(resource, v)}
            }
            if v.persistent_volume_claim.read_only:
                source["persistentVolumeClaim"]["readOnly"] = True
                mount["readOnly"] = True
        elif v.config_map is not None:
            source = {"configMap": v.config_map.wire()}
            mount["readOnly"] = True
        elif v.secret is not None:
            secret: dict[str, Any] = {
                "secretName": v.secret.name,
                "defaultMode": SECRET_FILE_MODE,
            }
            if v.secret.optional is not None:
                secret["optional"] = v.secret.optional
            source = {"secret": secret}
            mount["readOnly"] = True
        else:
            assert v.empty_dir is not None
            source = {"emptyDir": v.empty_dir.wire()}
        volumes.append({"name": v.name, **source})
        mounts.append(mount)
    return volumes, mounts


def single_pod_storage(resource: HuleEduService) -> bool:
    """A claim mounted by a Deployment that never runs two pods: roll it out by
    Recreate, because a surge pod on another node could not attach a ReadWriteOnce
    claim and (with maxUnavailable 0) the rollout would wait for it forever."""
    return bool(resource.spec.claims()) and not resource.spec.may_run_several_pods()
