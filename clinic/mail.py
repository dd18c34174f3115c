"""The embedded-default email backend: one ``.eml`` file per email in a folder, so a
newcomer opens each message in a mail program or a text editor."""

from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend
from django.utils import timezone


class FolderEmailBackend(EmailBackend):
    def write_message(self, message) -> None:
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
        kind = message.extra_headers.get("X-Clinic-Kind", "email")
        path = Path(self.file_path) / f"{stamp}-{kind}-{abs(id(message))}.eml"
        path.write_bytes(message.message().as_bytes(linesep="\n"))

    # One file per message: no shared per-connection log file to open or close.
    def open(self) -> bool:
        return False

    def close(self) -> None:
        return None

    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            self.write_message(message)
            sent += 1
        return sent
