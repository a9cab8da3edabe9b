"""Physical names of every resource, from one function: abbreviation, project, environment, stable suffix.

The suffix is a hash of (project, environment, seed), so names are the same on every run, differ between
environments, and are unlikely to collide with other subscriptions' globally unique names (storage accounts,
Key Vaults, function apps). Abbreviations follow Microsoft's Cloud Adoption Framework list.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = ["ABBREVIATIONS", "Namer"]

ABBREVIATIONS = {
    "resource_group": "rg",
    "storage_account": "st",
    "function_app": "func",
    "app_service_plan": "asp",
    "app_insights": "appi",
    "log_workspace": "log",
    "key_vault": "kv",
    "virtual_network": "vnet",
    "subnet": "snet",
    "private_endpoint": "pep",
    "nat_gateway": "ng",
    "public_ip": "pip",
}

_PROJECT_TOKEN_LENGTH = 8  # "aemimgix": enough to recognise the project inside a 24-character name
_SUFFIX_LENGTH = 6


@dataclass(frozen=True)
class Namer:
    """Names for one environment of one project."""

    project: str
    environment: str
    seed: str = ""

    @property
    def suffix(self) -> str:
        """Six hex digits, stable for (project, environment, seed)."""
        digest = hashlib.sha256(f"{self.project}/{self.environment}/{self.seed}".encode()).hexdigest()
        return digest[:_SUFFIX_LENGTH]

    @property
    def _token(self) -> str:
        return re.sub(r"[^a-z0-9]", "", self.project.lower())[:_PROJECT_TOKEN_LENGTH]

    def name(self, kind: str, role: str = "") -> str:
        """`<abbr>-[<role>-]<project>-<env>-<suffix>` for resources whose names allow hyphens and 60+ characters
        (`role` tells apart several of one kind, e.g. the blob and queue private endpoints)."""
        head = f"{ABBREVIATIONS[kind]}-{role}" if role else ABBREVIATIONS[kind]
        return f"{head}-{self._token}-{self.environment}-{self.suffix}"

    def storage_account(self, role: str) -> str:
        """3-24 lower-case letters and digits: `st` + role + project + env, cut to fit, + suffix."""
        stem = re.sub(r"[^a-z0-9]", "", f"{ABBREVIATIONS['storage_account']}{role}{self._token}{self.environment}")
        return stem[: 24 - _SUFFIX_LENGTH] + self.suffix

    def key_vault(self) -> str:
        """3-24 characters, letters, digits and single hyphens, starting with a letter."""
        head = f"{ABBREVIATIONS['key_vault']}-{self._token}-{self.environment}"[: 24 - _SUFFIX_LENGTH - 1].rstrip("-")
        return f"{head}-{self.suffix}"
