from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinic.errors import Conflict
from clinic.models import User


@transaction.atomic
def staff_create(*, username: str, password: str, role: str, **fields) -> User:
    """Create a member of staff; the password must pass Django's validators."""
    user = User(username=username, role=role, **fields)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.full_clean(exclude=["password"])
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise Conflict("A member of staff with that username exists.", field="username") from exc
    return user
