from django.apps import AppConfig


class LettersConfig(AppConfig):
    name = "letters"

    def ready(self) -> None:
        from django.urls import register_converter

        from .languages import LanguageConverter

        # <lang:language> in routes: a language code Django knows (fr, pt-br, zh-hans).
        register_converter(LanguageConverter, "lang")
