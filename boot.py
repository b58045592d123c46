# Runs first at power-up. Wi-Fi joining comes here; for now it only makes
# lib/ importable where the firmware does not already look there.
import sys

if "lib" not in sys.path and "/lib" not in sys.path:
    sys.path.append("lib")
