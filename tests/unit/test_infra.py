import shutil
import subprocess
import sys

import pytest

from infra import deploy, package
from shared import topology


def test_every_function_is_packaged_with_its_group_requirements(tmp_path):
    for fn in topology.FUNCTIONS:
        dest = package.package(fn.name, tmp_path)
        reqs = (dest / "requirements.txt").read_text()
        assert (dest / "main.py").exists() and (dest / "shared" / "settings.py").exists()
        assert reqs.count("functions-framework==") == 1 and "-r " not in reqs  # flattened: Cloud Build reads one file
        # the factory: its plan-review routes use the spec check; build_events: the deploy adapter (google-cloud-run)
        engine = fn.name.startswith("stage_") or fn.name in ("factory", "build_events")
        assert package.group(fn.name) == ("engine" if engine else "control")
        for engine_only in ("SQLAlchemy==", "ruff==", "Pillow==", "alembic=="):
            assert (engine_only in reqs) is engine, (fn.name, engine_only)
        assert (dest / "shared" / "engine" / "compiler" / "templates").is_dir() is engine


def _sizes(root):
    files = [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return len(files), sum(p.stat().st_size for p in files)


def test_signup_ships_no_engine_and_under_a_fifth_of_the_whole_shared_copy(tmp_path):
    """Before issue 21 every function got functions/<name>/ + all of shared/ + one requirements file. Measured
    on the tree of 2026-12 (commit cb88963): signup was 283 files, 3,325,345 bytes (zip 1,034,476 bytes); with
    only its import closure it is 15 files, 85,734 bytes (zip 30,454 bytes), 2.6 %. The baseline is computed
    here again (today's layout: the function folder plus the whole shared/ tree plus requirements.txt), so the
    check follows the code, and the recorded figure is a floor it must also stay under."""
    dest = package.package("signup", tmp_path / "lean")
    lean_files, lean_bytes = _sizes(dest)
    whole = tmp_path / "whole"
    shutil.copytree(package.ROOT / "functions" / "signup", whole, ignore=package.IGNORE)
    shutil.copytree(package.ROOT / "shared", whole / "shared", ignore=package.IGNORE)
    (whole / "requirements.txt").write_text(package.requirements("engine"))
    _, whole_bytes = _sizes(whole)
    assert lean_bytes < whole_bytes / 5 and lean_bytes < 3_325_345 / 5, (lean_bytes, whole_bytes)
    lean_zip = deploy.zip_dir(dest, tmp_path / "lean.zip").stat().st_size
    assert lean_zip < deploy.zip_dir(whole, tmp_path / "whole.zip").stat().st_size / 5
    assert not (dest / "shared" / "engine").exists() and lean_files < 30


def test_packaged_imports_resolve_inside_the_package_and_control_never_reaches_the_engine(tmp_path):
    """Every repository module a packaged file imports (anywhere in it: lazy imports count) is in the package,
    and no control-plane function's package holds or imports shared.engine."""
    for fn in topology.FUNCTIONS:
        dest = package.package(fn.name, tmp_path)
        ours = {p.relative_to(dest).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
                for p in dest.rglob("*.py") if "templates" not in p.parts}
        for path in dest.rglob("*.py"):
            if "templates" in path.parts:
                continue
            mod = path.relative_to(dest).with_suffix("").as_posix().replace("/", ".")
            mod = mod.removesuffix(".__init__") if path.name == "__init__.py" else mod
            for name in package.imported_names(path, mod):
                if name.split(".")[0] in ("shared", "functions", "infra", "emulator", "tests", "bench"):
                    assert name in ours or name.rpartition(".")[0] in ours, (fn.name, mod, name)
        if package.group(fn.name) == "control":
            assert not any(m.startswith("shared.engine") for m in ours), fn.name


@pytest.mark.parametrize("name", ["signup", "watchdog", "dead_letter"])
def test_packaged_control_function_imports_without_the_repository_or_the_engine(tmp_path, name):
    dest = package.package(name, tmp_path)
    fn = topology.function(name)
    code = ("import sys, functions_framework; "
            f"functions_framework.create_app({fn.target!r}, 'main.py', {fn.signature!r}); "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'shared')))")
    env = {"PATH": "/usr/bin:/bin", "FACTORY_ENV": "production", "GOOGLE_CLOUD_PROJECT": "saas-factory-prod"}
    p = subprocess.run([sys.executable, "-c", code], cwd=dest, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    loaded = p.stdout.split()
    assert "shared.log" in loaded and not [m for m in loaded if m.startswith("shared.engine")], loaded


def test_packaged_stage_function_loads_the_whole_engine(tmp_path):
    """The engine finds its capabilities and criteria by computed names, so it ships whole."""
    dest = package.package("stage_development", tmp_path)
    code = ("import functions_framework; functions_framework.create_app('handle', 'main.py', "
            "'cloudevent'); import shared.engine as e, shared.engine.capabilities as c; "
            "assert e.run_stage and c._MODULES; print(e.__file__)")
    env = {"PATH": "/usr/bin:/bin", "FACTORY_ENV": "production", "GOOGLE_CLOUD_PROJECT": "saas-factory-prod"}
    p = subprocess.run([sys.executable, "-c", code], cwd=dest, env=env, capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().startswith(str(dest))


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


def test_the_plan_gate_names_the_spec_the_engine_stores():
    from shared import plangate
    from shared.engine import specstore

    assert plangate.SPEC_ARTIFACT == specstore.SPEC_ARTIFACT
