"""scripts/sam_env.py: an env-vars file keyed by the logical id of every function in the template."""

from __future__ import annotations

import pytest

from scripts.sam_env import env_vars, local_values
from tests.infra.support import Synth

pytestmark = pytest.mark.infra


def test_env_vars_cover_every_function(synthesized: dict[str, Synth], tmp_path) -> None:
    template = synthesized["dev"].template
    functions = {k for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Function"}
    out = env_vars(template, local_values(tmp_path / "none.json"))
    handlers = [k for k in functions if "CONTEXTIQ_STAGE" in str(template["Resources"][k])]
    assert handlers and set(handlers) <= set(out)
    for logical_id in handlers:
        variables = out[logical_id]
        assert all(isinstance(v, str) for v in variables.values()), variables
        assert variables["AWS_ENDPOINT_URL"].startswith("http://host.docker.internal")
        for name in variables:
            if name.endswith("_TABLE"):
                assert variables[name].startswith("contextiq-local-"), (logical_id, name)
