"""Exercise checkers, one module a chapter: `from utils.exercises import ch01 as ex` then `ex.q1.check(...)`."""
