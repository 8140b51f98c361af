"""Train until a training clock passes each of several budgets: the loop of `dcgan_vs_tutorial.py`
(not a benchmark itself).

Only the training steps are timed, so whatever the caller does at a budget (scoring, printing) costs no
training time. With a constant learning rate, one run scored as it passes 150, 300 and 600 s is the same
as three runs of those lengths, at a fraction of the cost.
"""

from __future__ import annotations

import time


def budget_checkpoints(step, batches, budgets, clock=time.perf_counter):
    """Call `step(batch)` over `batches`, again and again (epochs), until the summed time of the calls
    passes each of `budgets` (seconds), smallest first. At each one, yield `(budget, steps, seconds)`:
    the clock stays stopped until the caller asks for the next one."""
    pending, steps, trained = sorted(budgets), 0, 0.0
    while pending:
        empty = True
        for batch in batches:
            empty = False
            start = clock()
            step(batch)
            trained += clock() - start
            steps += 1
            while pending and trained >= pending[0]:  # a slow step may pass two budgets at once
                yield pending.pop(0), steps, trained
            if not pending:
                return
        if empty:
            raise ValueError("no batches to train on: the dataset is empty")
