"""Collection (征缴): what each registered person owes this year, and what was paid.

- :mod:`.rates`   the amounts per scheme and tier and the government's share for special
                  groups, read from the campaign file (``[collection]``); one person's
                  *lines* (one per scheme they joined) computed from their answers.
- :mod:`.ledger`  the append-only payments of a village (corrections are new rows) and
                  the settlement kept on each person, which coverage rows count.
- :mod:`.roll`    the collection roll (征收清册) of a village or township.
- :mod:`.papers`  its PDF, the reminder slips (缴费提醒单); the public paid roster is
                  the ``roster`` notice of documents/notices.py, which lists payers only.
- :mod:`.taxfile` the tax office's payment detail, checked whole, then applied (idempotent).
- :mod:`.remittance` the daily remittance (按日报解) of the cash village agents collect.
- :mod:`.progress` paid persons and money against the roll, from the coverage rows.

Money is counted in fen (分, integers) everywhere and shown in yuan.
"""
