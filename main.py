# Runs the web server; boot.py has already joined Wi-Fi.
import app

app.main()
