"""Upgrade rehearsal: the upgrade played on a copy of a topology in a throw-away embedded
server, on a virtual clock, and the plan it yields (README: Rehearsal).

`topology` reads the topology, `durations` the step times, `sandbox` plays the engine,
`plan` times what it did, `rehearsal` puts them together, `output` prints the plan,
`console` plays it in the console; `command` is `kostyor-tui rehearse`.
"""
