"""Deployment files: docker-compose.yml validates with the compose client, and the Dockerfile and
compose file agree with the pinned stack. No Docker engine is needed (none runs in CI)."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _compose_command() -> list[str] | None:
    """`docker compose` (v2 plugin), else the standalone `docker-compose`, else None."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


COMPOSE = _compose_command()
needs_compose = pytest.mark.skipif(COMPOSE is None, reason="no docker compose client on this machine "
                                                           "(neither `docker compose` nor `docker-compose`)")


def _config(env_file: Path, *extra: str) -> subprocess.CompletedProcess:
    # An explicit --env-file: a developer's own .env in the checkout must not change the result,
    # and nothing from the test's environment either.
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(env_file.parent)}
    return subprocess.run([*COMPOSE, "--env-file", str(env_file), "-f", str(ROOT / "docker-compose.yml"),
                           "config", *extra], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)


@needs_compose
def test_compose_config_validates_with_the_example_env(tmp_path):
    env_file = tmp_path / ".env"
    shutil.copyfile(ROOT / ".env.example", env_file)
    quiet = _config(env_file, "-q")
    assert quiet.returncode == 0, quiet.stderr
    rendered = _config(env_file).stdout
    assert "NEO4J_AUTH: neo4j/change-me-please" in rendered
    assert "ETL_GRAPH_NEO4J_URI: bolt://neo4j:7687" in rendered
    assert "NEO4J_PASSWORD: change-me-please" in rendered
    assert "NEO4J_dbms_cypher_min__replan__interval: 10s" in rendered  # Neo4j's own default unless set
    assert "condition: service_healthy" in rendered and "driver: nvidia" in rendered


@needs_compose
def test_compose_refuses_to_start_without_a_password(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("COMPOSE_PROJECT_NAME=medkg\n", encoding="utf-8")
    result = _config(env_file, "-q")
    assert result.returncode != 0
    assert "set NEO4J_PASSWORD in .env" in result.stderr


def test_env_file_is_ignored_and_the_example_is_committed():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, capture_output=True)
    if ignored.returncode == 128:  # not a git checkout (an exported tree): read .gitignore itself
        assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    else:
        assert ignored.returncode == 0, ".env must be listed in .gitignore"
    assert "NEO4J_PASSWORD=" in (ROOT / ".env.example").read_text(encoding="utf-8")
    # ETL_* variables are settings to the tool: the compose-only names must not use that prefix.
    names = re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M)
    assert names and not [n for n in names if n.startswith("ETL_")]


def test_images_are_pinned_and_match_the_requirements():
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert re.search(r"image: neo4j:5\.\d+\.\d+-community\n", compose), "pin the Neo4j 5 image tag"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11\.\d+-slim-\w+$", dockerfile, re.M), "pin the base image"
    pinned_tf = re.search(r"^tensorflow-cpu==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert f"ARG TENSORFLOW_VERSION={pinned_tf}\n" in dockerfile, "GPU TensorFlow must match the CPU pin"
    assert '"tensorflow[and-cuda]==${TENSORFLOW_VERSION}"' in dockerfile
    assert "pip install --no-deps -r requirements-nodeps.txt" in dockerfile
    assert re.search(r"^USER etl$", dockerfile, re.M) and 'ENTRYPOINT ["tini", "--", "etl"]' in dockerfile
