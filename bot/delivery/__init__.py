"""The reminder service: who is due (`plan`), `pacing`, the exactly-once claim
(`claims`), composing (`compose`), delivery (`deliver`, `post`) with reconciliation
(`reconcile`), the `sweep`, `rebuy remind` (`remind`), rep sync (`reps`, `slack_users`)
and the weekly `digest`.

The scheduler's sweep and `rebuy remind` share one path:

1. `plan_sweep` picks active, Slack-linked reps inside their morning window
   (REMINDER_TIME to REMINDER_CUTOFF, their Slack time zone) on one of their working
   days (weekends, public holidays of their country and away periods excluded) whose
   reminder for that local date is not finished. A day whose window has passed is
   skipped, never sent late.
2. Due lists for all of them come from one `due_by_rep` call per local date.
3. Each rep is delivered on a bounded thread pool (`deliver_run`), isolated from the
   others: claim the (rep, local date) row, write every message with its rendered
   blocks *before* posting, then post the rows that have no `ts` yet.

Exactly once: the unique (rep_id, local_date) row is the claim (see `claims`). A post
that fails in a way that may still have delivered it (5xx, timeout, dropped connection)
is reconciled against the DM's history by message metadata before anything is posted
again; while the history cannot be read the message is held, never posted blindly.
"""
