from django.apps import AppConfig


class FrontdeskConfig(AppConfig):
    name = "keyport.frontdesk"
