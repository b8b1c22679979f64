"""Production deployment: package the functions, then let Terraform (infra/terraform/) do the rest.

    python -m infra.deploy --project PROJECT [--region us-central1] [--state-bucket BUCKET]
                           [--plan] [--auto-approve]

Steps, each stopping the deployment with a clear message if it fails:
1. the consistency check (`infra/terraform_check.py`): the HCL must declare what the code needs;
2. package every function (`infra/package.py`) and zip it to build/<name>.zip, byte-for-byte
   reproducible, so an unchanged function keeps its object name and its revision;
3. `terraform init` (state in gs://BUCKET/saas-factory) and `terraform plan` or `apply` with the
   project and region as variables;
4. `firebase deploy --only hosting` (the dashboard and the rewrites of firebase.json), after apply.

Nothing is left to fill in by hand: every URL, audience and identity comes from Terraform.
The runbook (first deploy, secrets, rollback) is docs/DEPLOY.md.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TF_DIR = ROOT / "infra" / "terraform"
BUILD = ROOT / "build"
FIREBASE = ROOT / "emulator" / "node_modules" / ".bin" / "firebase"
sys.path.insert(0, str(ROOT))

from shared import topology  # noqa: E402

ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class DeployError(SystemExit):
    """A step failed; the message says which and what to do."""


def zip_dir(src: Path, dest: Path) -> Path:
    """A zip of `src` whose bytes depend only on the files' paths and contents."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(src).as_posix(), date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())
    return dest


def package_all(build: Path = BUILD) -> list[Path]:
    from infra import package

    return [zip_dir(package.package(fn.name, build / "src"), build / f"{fn.name}.zip") for fn in topology.FUNCTIONS]


def terraform_commands(project: str, region: str, state_bucket: str, build: Path = BUILD, *,
                       apply: bool = True, auto_approve: bool = False) -> list[list[str]]:
    tf = ["terraform", f"-chdir={TF_DIR}"]
    variables = [f"-var=project={project}", f"-var=region={region}", f"-var=function_source_dir={build}"]
    last = [*tf, "apply", "-input=false", *variables] if apply else [*tf, "plan", "-input=false", *variables]
    if apply and auto_approve:
        last.append("-auto-approve")
    return [
        [*tf, "init", "-input=false", f"-backend-config=bucket={state_bucket}", "-backend-config=prefix=saas-factory"],
        last,
    ]


def hosting_command(project: str) -> list[str]:
    return [str(FIREBASE), "deploy", "--only", "hosting", "--project", project, "--non-interactive"]


def run(cmd: Sequence[str], what: str, runner: Callable[..., object] = subprocess.run) -> None:
    print("+ " + " ".join(cmd), flush=True)
    try:
        runner(list(cmd), check=True, cwd=ROOT)
    except subprocess.CalledProcessError as exc:
        raise DeployError(f"deploy: {what} failed (exit {exc.returncode}); nothing after it ran. "
                          "Fix the error above and run the same command again (every step is idempotent).") from None
    except FileNotFoundError:
        raise DeployError(f"deploy: {what} needs `{cmd[0]}`, which is not installed here.") from None


def require_tools(which: Callable[[str], str | None] = shutil.which) -> None:
    if not which("terraform"):
        raise DeployError("deploy: terraform is not installed (https://developer.hashicorp.com/terraform/install, "
                          ">= 1.7); nothing was deployed.")
    if not FIREBASE.exists():
        raise DeployError("deploy: the Firebase CLI is missing; run `make bootstrap` (it installs the pinned "
                          "firebase-tools under emulator/node_modules); nothing was deployed.")


def check_consistency() -> None:
    from infra import terraform_check

    problems = terraform_check.check(terraform_check.load(), terraform_check.code_model())
    if problems:
        raise DeployError("deploy: infra/terraform does not match the code; nothing was deployed:\n  "
                          + "\n  ".join(problems))


def deploy(project: str, region: str, state_bucket: str, *, apply: bool, auto_approve: bool,
           runner: Callable[..., object] = subprocess.run) -> None:
    require_tools()
    check_consistency()
    for z in package_all():
        print(f"packaged {z.relative_to(ROOT)}")
    # The dashboard's Firebase SDK files are copied from the pinned npm package, not committed.
    run(["bash", str(ROOT / "emulator" / "vendor_web.sh")], "copying the dashboard's Firebase SDK", runner)
    for cmd in terraform_commands(project, region, state_bucket, apply=apply, auto_approve=auto_approve):
        run(cmd, f"terraform {cmd[2]}", runner)
    if apply:
        run(hosting_command(project), "firebase deploy --only hosting", runner)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", required=True)
    ap.add_argument("--region", default="us-central1")
    ap.add_argument("--state-bucket", help="Cloud Storage bucket of the Terraform state (default PROJECT-tfstate)")
    ap.add_argument("--plan", action="store_true", help="terraform plan only; change nothing")
    ap.add_argument("--auto-approve", action="store_true", help="apply without asking (CI)")
    args = ap.parse_args(argv)
    deploy(args.project, args.region, args.state_bucket or f"{args.project}-tfstate", apply=not args.plan,
           auto_approve=args.auto_approve)


if __name__ == "__main__":
    main()
