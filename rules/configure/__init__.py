"""Configure: platforms, toolchains (data: what each is and runs), and the configuration a target is built in."""
