from django import forms
from django.core.exceptions import ValidationError

from clinic.errors import DomainError


def form_add_error(form: forms.Form, error: DomainError | ValidationError) -> None:
    """Show a service's error on the form, beside the field it names when the form has it."""
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, error)
        return
    form.add_error(error.field if error.field in form.fields else None, error.message)
