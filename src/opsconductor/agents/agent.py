"""The agents: one per area (wifi, security, health, wan, system), each with its rules.

An agent takes the events of its domains — its default domains plus every domain its rules
name in ``match.domain`` (or ``clear``/``state`` conditions) — and evaluates its enabled
rules on them with a :class:`~opsconductor.agents.engine.RuleEngine`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from opsconductor.agents.engine import Detection, RuleEngine
from opsconductor.agents.rules import AGENTS, Rule
from opsconductor.messages import Event

AGENT_DOMAINS: dict[str, tuple[str, ...]] = {
    "wifi": ("wifi",),
    "security": ("security",),
    "health": ("health",),
    "wan": ("wan",),
    "system": ("system", "generic"),
}
"""The domains each agent takes by default."""


class BaseAgent:
    """An agent: a name, the domains it takes, and a rule engine over its enabled rules.

    ``rules`` may hold every rule; the agent keeps those whose ``agent`` is its name.
    """

    name: ClassVar[str] = ""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.default_domains = AGENT_DOMAINS[self.name]
        mine = self._own(rules)
        self.engine = RuleEngine(mine, self.name, self.default_domains)
        self.domains = self._accepted(mine)

    def handle(self, events: Sequence[Event]) -> list[Detection]:
        """Detections from the events of the domains this agent takes."""
        domains = self.domains
        taken = [event for event in events if event.domain in domains]
        return self.engine.evaluate_batch(taken) if taken else []

    def tick(self, now: float) -> list[Detection]:
        """Detections of timers run out by the wall clock ``now``."""
        return self.engine.tick(now)

    def replace_rules(self, rules: Sequence[Rule]) -> None:
        """Evaluate ``rules`` (those of this agent) from now on, keeping unchanged state."""
        mine = self._own(rules)
        self.engine.replace_rules(mine)
        self.domains = self._accepted(mine)

    def _own(self, rules: Sequence[Rule]) -> list[Rule]:
        return [rule for rule in rules if rule.agent == self.name and rule.enabled]

    def _accepted(self, rules: Sequence[Rule]) -> frozenset[str]:
        named = {
            domain
            for rule in rules
            for conditions in rule.roles().values()
            for domain in conditions.domain or ()
        }
        return frozenset(self.default_domains) | named


class WifiAgent(BaseAgent):
    """Wireless: hostapd, drivers, stations."""

    name = "wifi"


class SecurityAgent(BaseAgent):
    """Logins, firewall, intrusions."""

    name = "security"


class HealthAgent(BaseAgent):
    """Resources and hardware: memory, storage, temperature, crashes."""

    name = "health"


class WanAgent(BaseAgent):
    """Uplinks: interfaces, PPP, DHCP, DNS."""

    name = "wan"


class SystemAgent(BaseAgent):
    """Everything else: system services and unclassified (generic) events."""

    name = "system"


AGENT_CLASSES: dict[str, type[BaseAgent]] = {
    cls.name: cls for cls in (WifiAgent, SecurityAgent, HealthAgent, WanAgent, SystemAgent)
}
"""The agent class of each agent name."""


def build_agents(rules: Sequence[Rule]) -> dict[str, BaseAgent]:
    """One agent per name in ``AGENTS`` (even without rules), each with its enabled rules."""
    return {name: AGENT_CLASSES[name](rules) for name in AGENTS}
