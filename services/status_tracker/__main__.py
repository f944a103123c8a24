from orderflow.services.status_tracker.app import MIGRATIONS, NAME, build
from orderflow.services.status_tracker.settings import TrackerSettings
from orderflow.shared.service import main

main(NAME, MIGRATIONS, build, TrackerSettings())
