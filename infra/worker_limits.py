"""The worker's own host.json limits, as the stack must respect them.

`function_app/imgix_worker/host_limits.py` is the one reader of host.json; this module makes `function_app/`
importable (the Pulumi program and `python -m infra.*` run from the project root) and reads the limits the deployed
app will see. The stacks set no `AzureFunctionsJobHost__` override, so host.json alone decides them.
"""

from __future__ import annotations

import sys

from infra.package import FUNCTION_APP_DIR

if str(FUNCTION_APP_DIR) not in sys.path:
    sys.path.insert(0, str(FUNCTION_APP_DIR))

from imgix_worker.errors import SettingsError
from imgix_worker.host_limits import SHUTDOWN_RESERVE_SECONDS, THREAD_COUNT_SETTING, HostLimits

__all__ = ["SHUTDOWN_RESERVE_SECONDS", "THREAD_COUNT_SETTING", "HostLimits", "SettingsError", "host_limits"]


def host_limits() -> HostLimits:
    """host.json's limits as the deployed app reads them.

    :raises SettingsError: naming the host.json key whose value is unreadable.
    """
    return HostLimits.load({}, path=FUNCTION_APP_DIR / "host.json")
