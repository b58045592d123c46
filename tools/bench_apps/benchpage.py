# The page every benchmarked server answers at GET /: 73 bytes of HTML, the
# page of the reference figures in ../../shared/design.md. Bench-only.
PAGE = b"<!DOCTYPE html><html><body><h1>Hello from the Pico W!</h1></body></html>\n"
