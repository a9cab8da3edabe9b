"""The local platform: Azurite, a local imgix-compatible renderer, Adobe's services, the worker host and the relay.

The worker package lives in `function_app/` (the Functions app root, deployed as is); the local platform hosts that
same code, so it makes the package importable here.
"""

import sys
from pathlib import Path

_FUNCTION_APP = str(Path(__file__).resolve().parent.parent / "function_app")
if _FUNCTION_APP not in sys.path:
    sys.path.insert(0, _FUNCTION_APP)
