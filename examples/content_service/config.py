"""Content service settings: read as ``CONTENT_SERVICE_<NAME>`` or plain ``<NAME>``."""

from pydantic_settings import SettingsConfigDict

from huleedu_runtime.config import ServiceSettings


class ContentServiceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONTENT_SERVICE_")

    service_name: str = "content-service"
    max_content_chars: int = 100_000
