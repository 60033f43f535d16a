"""A local, strict stand-in for GoHighLevel API v2, served over real HTTP.

    from sandbox.ghl_emulator import Emulator, EmulatorConfig

    emulator = Emulator(EmulatorConfig(tokens={"emu-token": "loc_demo"}))
    emulator.seed_demo(buyers=200, seed=1)
    with emulator.serve() as server:
        ...  # point the GHL client at server.url with token "emu-token"

Requests and responses are checked against GHL's official OpenAPI files (`openapi/`);
`load_specs()` offers the same checks to the client's contract tests.
"""

from sandbox.ghl_emulator.config import DEFAULT_TOKEN, DEMO_LOCATION_ID, DEMO_TOKEN, EmulatorConfig
from sandbox.ghl_emulator.faults import Faults
from sandbox.ghl_emulator.server import Emulator, RunningServer, run_forever
from sandbox.ghl_emulator.spec import GHLSpecs, Operation, OperationMatch, load_specs

__all__ = [
    "DEFAULT_TOKEN",
    "DEMO_LOCATION_ID",
    "DEMO_TOKEN",
    "Emulator",
    "EmulatorConfig",
    "Faults",
    "GHLSpecs",
    "Operation",
    "OperationMatch",
    "RunningServer",
    "load_specs",
    "run_forever",
]
