"""Domain errors of the content service, in the runtime's error vocabulary."""

from huleedu_runtime.errors import ErrorCode, ServiceError


class ContentNotFoundError(ServiceError):
    """No content is stored under ``content_id`` (rendered as 404)."""

    code = ErrorCode.RESOURCE_NOT_FOUND

    def __init__(self, content_id: str) -> None:
        super().__init__(
            message=f"content {content_id} not found",
            details={"content_id": content_id},
        )
