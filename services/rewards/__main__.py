from orderflow.services.rewards.app import MIGRATIONS, NAME, SETTINGS, build
from orderflow.shared.service import main

main(NAME, MIGRATIONS, build, SETTINGS())
