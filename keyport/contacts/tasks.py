from django_tasks import task

from keyport.contacts.services import sign_in_link_send


@task()
def send_sign_in_link(email: str) -> None:
    sign_in_link_send(email=email)
