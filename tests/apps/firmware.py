# Runs boot.py then main.py in one interpreter, as MicroPython does at
# power-up. With tests/stubs first on the path, the real Wi-Fi, portal and
# watchdog code runs against stand-ins of the Pico W's modules.
for name in ("boot.py", "main.py"):
    with open(name) as f:
        source = f.read()
    exec(source, {"__name__": "__main__"})
