"""The embedded default writes one readable .eml file per email, nothing else."""

from email import message_from_bytes

from django.core.mail import EmailMessage, get_connection


def test_folder_backend_writes_one_eml_file_per_email(settings, tmp_path):
    settings.EMAIL_BACKEND = "clinic.mail.FolderEmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    with get_connection() as connection:
        for n in range(2):
            EmailMessage(
                f"Subject {n}",
                "Body",
                "clinic@example.com",
                ["ava@example.com"],
                connection=connection,
                headers={"X-Clinic-Kind": "hydration_after"},
            ).send()
    files = sorted(tmp_path.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]
    assert all("hydration_after" in f.name for f in files)
    subjects = {message_from_bytes(f.read_bytes())["Subject"] for f in files}
    assert subjects == {"Subject 0", "Subject 1"}
