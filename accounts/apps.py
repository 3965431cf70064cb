from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts.timezones import remember_zone

        user_logged_in.connect(remember_zone, dispatch_uid="accounts.remember_zone")
