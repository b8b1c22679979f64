import subprocess
import sys

import pytest

from infra import deploy, package
from shared import topology


def test_every_function_is_packaged_with_shared_and_requirements(tmp_path):
    for fn in topology.FUNCTIONS:
        dest = package.package(fn.name, tmp_path)
        assert (dest / "main.py").exists() and (dest / "shared" / "settings.py").exists()
        assert (dest / "requirements.txt").read_text().count("functions-framework==") == 1


def test_packaged_function_imports_without_the_repository(tmp_path):
    dest = package.package("signup", tmp_path)
    code = ("import functions_framework; functions_framework.create_app('signup', 'main.py', 'http')")
    env = {"PATH": "/usr/bin:/bin", "FACTORY_ENV": "production", "GOOGLE_CLOUD_PROJECT": "saas-factory-prod"}
    p = subprocess.run([sys.executable, "-c", code], cwd=dest, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def test_terraform_commands_pass_project_and_region_and_leave_nothing_to_fill_in(tmp_path):
    cmds = [" ".join(c) for c in deploy.terraform_commands("saas-factory-prod", "europe-west1", "prod-tfstate", tmp_path)]
    assert cmds[0].endswith("init -input=false -backend-config=bucket=prod-tfstate -backend-config=prefix=saas-factory")
    assert " apply -input=false -var=project=saas-factory-prod -var=region=europe-west1 " in cmds[1]
    assert f"-var=function_source_dir={tmp_path}" in cmds[1]
    plan = deploy.terraform_commands("p-1234", "us-central1", "b", tmp_path, apply=False)
    assert plan[1][2] == "plan" and "-auto-approve" not in plan[1]
    for c in cmds:
        assert not any(p in c for p in ("PROJECT_NUMBER", "SUBSCRIPTION_OF_", "WATCHDOG_URL", "EMULATOR"))


def test_function_zips_are_reproducible(tmp_path):
    src = package.package("signup", tmp_path / "src")
    first = deploy.zip_dir(src, tmp_path / "a.zip").read_bytes()
    (src / "main.py").touch()  # a new mtime must not change the bytes (nor the object name, nor the revision)
    assert deploy.zip_dir(src, tmp_path / "b.zip").read_bytes() == first


def test_a_failing_step_stops_the_deployment_loudly(monkeypatch):
    monkeypatch.setattr(deploy, "require_tools", lambda: None)
    monkeypatch.setattr(deploy, "check_consistency", lambda: None)
    monkeypatch.setattr(deploy, "package_all", lambda: [])
    ran = []

    def runner(cmd, check, cwd):
        assert check is True
        ran.append(cmd)
        if "apply" in cmd:
            raise subprocess.CalledProcessError(1, cmd)

    with pytest.raises(deploy.DeployError, match="terraform apply failed .exit 1.; nothing after it ran"):
        deploy.deploy("saas-factory-prod", "us-central1", "b", apply=True, auto_approve=True, runner=runner)
    assert [c[2] if c[0] == "terraform" else c[0] for c in ran] == ["bash", "init", "apply"]  # no hosting deploy
    assert "-auto-approve" in ran[-1]


def test_missing_tools_are_named():
    with pytest.raises(deploy.DeployError, match="terraform is not installed"):
        deploy.require_tools(which=lambda _name: None)

    def missing(cmd, check, cwd):
        raise FileNotFoundError(cmd[0])

    with pytest.raises(deploy.DeployError, match="needs `terraform`, which is not installed"):
        deploy.run(["terraform", "init"], "terraform init", missing)
