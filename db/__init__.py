"""The domain: models and every rule about areas, villages, projects, money and who may touch what."""
from .database import database, init_app

__all__ = ["database", "init_app"]
