import datetime as dt

from django.utils import timezone
from django_tasks import task

from keyport.emails.models import EmailStatus
from keyport.emails.services import email_deliver


@task()
def deliver_email(email_id: int) -> None:
    email = email_deliver(email_id=email_id)
    if email.status == EmailStatus.QUEUED and email.attempts > 0:
        # Not delivered yet: try again later, waiting longer each time.
        delay = dt.timedelta(minutes=2 ** (email.attempts - 1))
        deliver_email.using(run_after=timezone.now() + delay).enqueue(email_id)
