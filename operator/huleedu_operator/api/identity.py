"""The operator's identity on the cluster: each string that says "this is ours", spelled
once. Labels shared with the runtime (the managed-by label, the service label) live in
``huleedu_runtime.contract``; this module builds on them."""

from __future__ import annotations

from typing import Final

from huleedu_runtime import contract

# Server-side apply field manager of every child the operator writes.
FIELD_MANAGER: Final = contract.MANAGED_BY_VALUE
# The label selector of every watch and list: only the operator's children stream in.
MANAGED_SELECTOR: Final = f"{contract.LABEL_MANAGED_BY}={contract.MANAGED_BY_VALUE}"
# Its complement (objects without the label match too): everything that is not ours.
FOREIGN_SELECTOR: Final = f"{contract.LABEL_MANAGED_BY}!={contract.MANAGED_BY_VALUE}"
# On each child: the hash of what was last applied (drift versus desired change).
APPLIED_HASH: Final = "huleedu.io/applied-hash"
# On a HuleEduService: "true" lets it adopt orphans the operator made (ownership.py).
ADOPT_ANNOTATION: Final = "huleedu.io/adopt-orphans"
# On a Deployment's pod template: the hash of the Kafka settings ConfigMap, so a change
# of it rolls the pods.
CONFIG_CHECKSUM_ANNOTATION: Final = "huleedu.io/config-checksum"
