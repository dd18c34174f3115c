from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "clients"

    def ready(self):
        from clients import audit

        audit.register_models()
        audit.connect_signals()
