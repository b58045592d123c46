# The README's "Adding a route" example, as a user writes it: a file in lib/
# (here tests/apps/, on the test server's path) named in APP_MODULES.


def install(app):
    router = app.router

    @router.route("/api/hello/<name>", methods=("GET", "POST", "PUT", "DELETE"))
    def hello(request):
        if request.method != "GET":
            app.check_token(request)  # nothing to do while API_TOKEN is unset
            data = request.json()  # 415 unless Content-Type: application/json, 400 if not JSON
            return {"hello": request.params["name"], "got": data}
        return {"hello": request.params["name"]}

    # Meant to be called from pages of other sites: it says so, and answers
    # CORS itself.
    @router.route("/api/public", methods=("POST",), cross_origin=True)
    def public(request):
        return {"public": True}
