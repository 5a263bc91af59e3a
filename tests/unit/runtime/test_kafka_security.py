"""The runtime's Kafka security settings: which TLS files it uses, and the refusals that
name the setting and the fix. The real handshakes are in tests/kafka/test_kafka_tls.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from huleedu_operator.api.v1alpha1 import KafkaSpec, SaslSpec
from huleedu_runtime import contract
from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.worker.kafka_options import (
    KafkaSecurityError,
    consumer_options,
    ssl_context,
    tls_files,
)

pytestmark = pytest.mark.unit


def settings(**values: Any) -> ServiceSettings:
    return ServiceSettings(_env_file=None, **values)  # type: ignore[call-arg]


def secret_dir(tmp_path: Path, *names: str) -> Path:
    directory = tmp_path / "kafka-tls"
    directory.mkdir()
    for name in names:
        (directory / name).write_text("placeholder\n")
    return directory


# --- one default per fact (issue 12 item 10) -------------------------------------------


def test_max_poll_records_has_one_default_for_the_api_and_the_runtime() -> None:
    api = KafkaSpec.model_fields["max_poll_records"].default
    runtime = ServiceSettings.model_fields["kafka_max_poll_records"].default
    assert api == runtime == contract.DEFAULT_KAFKA_MAX_POLL_RECORDS


def test_the_sasl_mechanism_has_one_default_for_the_api_and_the_runtime() -> None:
    api = SaslSpec.model_fields["mechanism"].default
    runtime = ServiceSettings.model_fields["kafka_sasl_mechanism"].default
    assert api == runtime == contract.DEFAULT_KAFKA_SASL_MECHANISM == "SCRAM-SHA-512"
    options = consumer_options(
        settings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_username="u",
            kafka_sasl_password="p",
        )
    )
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"


# --- which files the runtime uses -------------------------------------------------------


def test_a_ca_only_secret_means_server_verification_without_a_client_certificate(
    tmp_path: Path,
) -> None:
    directory = secret_dir(tmp_path, "ca.crt")
    files = tls_files(settings(kafka_ssl_dir=str(directory)))
    assert files.cafile == str(directory / "ca.crt")
    assert files.certfile is None
    assert files.keyfile is None
    assert not files.mutual


def test_ca_cert_and_key_mean_mutual_tls(tmp_path: Path) -> None:
    directory = secret_dir(tmp_path, "ca.crt", "tls.crt", "tls.key")
    files = tls_files(settings(kafka_ssl_dir=str(directory)))
    assert (files.cafile, files.certfile, files.keyfile) == tuple(
        str(directory / n) for n in ("ca.crt", "tls.crt", "tls.key")
    )
    assert files.mutual


def test_a_secret_without_a_ca_uses_the_system_trust_store(tmp_path: Path) -> None:
    directory = secret_dir(tmp_path, "tls.crt", "tls.key")
    files = tls_files(settings(kafka_ssl_dir=str(directory)))
    assert files.cafile is None
    assert files.mutual


def test_no_tls_settings_at_all_verify_against_the_system_trust_store() -> None:
    files = tls_files(settings(kafka_security_protocol="SSL"))
    assert (files.cafile, files.certfile, files.keyfile) == (None, None, None)
    context = ssl_context(settings(kafka_security_protocol="SSL"))
    assert context.verify_mode.name == "CERT_REQUIRED"
    assert context.check_hostname


def test_an_explicit_file_wins_over_the_directory(tmp_path: Path) -> None:
    directory = secret_dir(tmp_path, "ca.crt")
    other = tmp_path / "other-ca.pem"
    other.write_text("placeholder\n")
    files = tls_files(settings(kafka_ssl_dir=str(directory), kafka_ssl_cafile=str(other)))
    assert files.cafile == str(other)


# --- refusals name the setting and the fix ----------------------------------------------


@pytest.mark.parametrize(("present", "missing"), [("tls.crt", "tls.key"), ("tls.key", "tls.crt")])
def test_half_a_client_identity_is_refused_naming_the_missing_key(
    tmp_path: Path, present: str, missing: str
) -> None:
    directory = secret_dir(tmp_path, "ca.crt", present)
    with pytest.raises(KafkaSecurityError) as caught:
        tls_files(settings(kafka_ssl_dir=str(directory)))
    message = str(caught.value)
    assert f"{present} is there but {missing} is not" in message
    assert f"add {missing}" in message
    assert f"remove {present} for server-only TLS" in message


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ("KAFKA_SSL_CAFILE", "kafka_ssl_cafile"),
        ("KAFKA_SSL_CERTFILE", "kafka_ssl_certfile"),
        ("KAFKA_SSL_KEYFILE", "kafka_ssl_keyfile"),
    ],
)
def test_an_explicit_file_that_does_not_exist_is_refused_naming_the_variable(
    tmp_path: Path, env: str, field: str
) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(KafkaSecurityError, match=f"{env}={missing}: no such file"):
        tls_files(settings(**{field: str(missing)}))


def test_a_tls_directory_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KafkaSecurityError, match=r"KAFKA_SSL_DIR=.*not a directory; mount"):
        tls_files(settings(kafka_ssl_dir=str(tmp_path / "absent")))


def test_a_ca_that_is_not_pem_is_refused_naming_the_file(tmp_path: Path) -> None:
    directory = secret_dir(tmp_path, "ca.crt")
    with pytest.raises(KafkaSecurityError, match=f"cannot load the CA {directory}/ca.crt"):
        ssl_context(settings(kafka_ssl_dir=str(directory)))


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_sasl_without_credentials_is_refused_naming_both_variables(protocol: str) -> None:
    with pytest.raises(KafkaSecurityError) as caught:
        consumer_options(settings(kafka_security_protocol=protocol))
    message = str(caught.value)
    assert "KAFKA_SASL_USERNAME" in message
    assert "KAFKA_SASL_PASSWORD" in message


def test_the_password_never_appears_in_a_refusal(tmp_path: Path) -> None:
    directory = secret_dir(tmp_path, "ca.crt", "tls.crt")
    with pytest.raises(KafkaSecurityError) as caught:
        consumer_options(
            settings(
                kafka_security_protocol="SASL_SSL",
                kafka_ssl_dir=str(directory),
                kafka_sasl_username="svc",
                kafka_sasl_password="hunter2-secret",
            )
        )
    assert "hunter2-secret" not in str(caught.value)
