# Bench-only: an empty module that tools/bench_apps/module_heap.py puts in
# place of a package while it measures the package's submodules one by one.
