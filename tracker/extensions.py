"""The extensions every part shares: created here, bound to the app in create_app."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from .database import db

csrf = CSRFProtect()
limiter = Limiter(get_remote_address)
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = "Please log in to see that page."

__all__ = ["csrf", "db", "limiter", "login_manager"]
