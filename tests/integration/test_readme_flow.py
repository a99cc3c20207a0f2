"""Every command of the README's "From a leak to a verified rotation" runs as written, on the
example estate, against a local sandbox (OpenBao + moto) seeded so the estate is true.

Only what the README marks as a placeholder is filled in (``RUN``: the run id the run printed);
the stores' addresses and credentials come through the environment, as the README says; the
operator's input (the new key pasted into ``new-key``, the confirmations) is typed in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leakguard.demo import (
    copy_examples,
    estate_sandbox,
    new_stripe_key,
    run_command,
)
from leakguard.resources import examples_dir

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### From a leak to a verified rotation"
#: exit 1 means "credentials found" for these; every other command must exit 0
FINDS_CREDENTIALS = ("leakguard scan ", "leakguard sweep ")


def flow_commands() -> list[str]:
    """The commands of the section's fenced sh block, continuation lines joined."""
    section = README.read_text(encoding="utf-8").split(SECTION, 1)[1]
    section = re.split(r"\n#{2,3} ", section, maxsplit=1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the flow section has exactly one sh block"
    return [line.strip() for line in blocks[0].replace("\\\n", " ").splitlines() if line.strip()]


def test_the_flow_uses_the_estate_and_marks_its_placeholders() -> None:
    commands = flow_commands()
    assert commands[0].startswith("leakguard scan examples/leaky-app")
    assert any("examples/estate/leakguard.yaml" in c for c in commands)
    assert all("…" not in c for c in commands)  # no elided value to guess at
    # RUN, the one placeholder, stands for the id the run prints: only after the run
    with_run = [c.split()[:3] for c in commands if re.search(r"\bRUN\b", c.split("#")[0])]
    assert with_run == [["leakguard", "playbook", "status"], ["leakguard", "audit", "verify"]]


@pytest.mark.slow
def test_every_command_of_the_readme_flow_runs_as_written(tmp_path: Path) -> None:
    copy_examples(examples_dir(), tmp_path)
    new_key = new_stripe_key()
    said: list[str] = []
    run_id: str | None = None
    with estate_sandbox(tmp_path) as estate:
        # the operator rolls the key in "Stripe" (the sandbox's stand-in for its API), which
        # accepts it from now on; it stops accepting the leaked one when the operator confirms
        # revoking it (estate.operator), so the run's provider step has Stripe's word
        estate.rolled(new_key)
        for line in flow_commands():
            if "RUN" in line:
                assert run_id is not None, f"{line}: no run id yet"
                line = line.replace("RUN", run_id)
            code, output = run_command(
                ["sh", "-c", line],
                tmp_path,
                estate.env,
                said.append,
                answer=estate.operator if " playbook run " in line else None,
                stdin=new_key.encode() if "cat > new-key" in line else None,
            )
            expected = 1 if line.startswith(FINDS_CREDENTIALS) else 0
            assert code == expected, f"{line}\nexited {code}, expected {expected}:\n{output}"
            if " playbook run " in line:
                found = re.search(r"^run (\S+): completed$", output, re.M)
                assert found, output
                run_id = found[1]
            if " blast-radius " in line:
                assert re.search(r"^\s+payments-api \(service\)", output, re.M), output
                assert re.search(r"^\s+billing-worker \(job\)", output, re.M), output
    shown = "\n".join(said)
    assert "consumers_moved: ['billing-worker', 'payments-api']" in shown
    assert "provider_old: revoked" in shown and "provider_new: live" in shown
    assert new_key not in shown
    assert not (tmp_path / "new-key").exists()
    leaked = re.search(
        r"^STRIPE_SECRET_KEY=(\S+)$",
        (tmp_path / "examples/leaky-app/config/.env").read_text(encoding="utf-8"),
        re.M,
    )
    assert leaked and leaked[1] not in shown
