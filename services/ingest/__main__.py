from orderflow.services.ingest.app import MIGRATIONS, NAME, build
from orderflow.services.ingest.settings import IngestSettings
from orderflow.shared.service import main

main(NAME, MIGRATIONS, build, IngestSettings())
