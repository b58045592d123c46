# boot.py, then main.py, as a board runs them at power-up (the unix port runs
# one script): for tests/test_lazy_modules.py, which checks what boot leaves
# on the heap.
import boot  # noqa: F401
import main  # noqa: F401
