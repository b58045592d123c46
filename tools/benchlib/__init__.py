"""make bench's parts (tools/bench.py runs them), a module a job:

  common       where things are, the page and the requests measured
  prepare      the builds: lib/ as .mpy, Microdot from PyPI, the 32-bit port
  servers      a bench app as a process in the Pico W profile
  httpclient   keep-alive HTTP from the client side
  load         load generators: wrk, or Python threads
  throughput   part "throughput": requests/s and ratios
  wsclient     WebSocket from the client side: the handshake, an echo load
  websocket    part "websocket": messages echoed per second, ours and Microdot's
  ladder       the smallest heap serving 4 clients (parts "heap", "heap32")
  heapuse      heap per request, heap in use after N requests, where the bytes go
  modules      part "modules": the heap each module of lib/ keeps
  environment  what a run was measured on
  report       the tables printed
"""
