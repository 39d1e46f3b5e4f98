"""The dispute ledger (征缴争议台账, seed 003): whoever first hears a dispute registers it,
it is classed and routed inside the government, closed within a time limit counted
in working days, and answered once.

- :mod:`.rules`   classes, their limits and the departments (campaign file ``[disputes]``)
- :mod:`.ledger`  an item's life: intake, classify, transfer, joint handling, escalate,
                  reply, satisfaction, reopen — every step kept in the item's history
"""
