from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "keyport.contacts"
