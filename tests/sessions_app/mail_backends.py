"""SMTP backends for fault tests: the real SMTP backend to a real server, with Celery's
soft time limit striking at a chosen moment of a send (Celery raises it from a signal
handler wherever the code happens to be)."""

from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail.backends.smtp import EmailBackend


class TimeLimitAfterAccept(EmailBackend):
    """The server accepts the message; the time limit strikes before its answer is read."""

    def send_messages(self, email_messages):
        super().send_messages(email_messages)
        raise SoftTimeLimitExceeded
