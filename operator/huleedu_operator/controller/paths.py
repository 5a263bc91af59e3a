"""Kubernetes API request paths, built from segments that cannot escape their place.

A name taken from a resource (a ConfigMap in ``spec.envFrom``, the resource's own name
and namespace) is one path segment, whatever it contains. Formatted into a path as it
is, ``../../../configmaps`` is resolved by the HTTP client (RFC 3986 dot segments) into
a cluster-wide LIST, ``../../kube-system/configmaps/x`` into another namespace, and
``x?watch=true`` into a watch. The API model already rejects such names; this is the
second wall, for objects stored before it or names from anywhere else.
"""

from __future__ import annotations

from urllib.parse import quote

# Segments percent-encoding leaves as they are ("." and "-" are unreserved) but which
# mean something in a path: an empty one turns GET /configmaps/<name> into a LIST of
# /configmaps, and "." or ".." are removed by the client together with what precedes.
_REFUSED = frozenset({"", ".", ".."})


def api_path(*segments: str) -> str:
    """``/seg/seg/...`` with every segment percent-encoded whole (``/`` -> ``%2F``,
    ``?`` -> ``%3F``, ``%`` -> ``%25``); raises ValueError for an empty, ``.`` or ``..``
    segment, which no Kubernetes name or path part can be."""
    for segment in segments:
        if segment in _REFUSED:
            raise ValueError(
                f"API path segment {segment!r} in {segments!r}: an object name, namespace "
                "or path part is never empty, '.' or '..'"
            )
    return "/" + "/".join(quote(segment, safe="") for segment in segments)
