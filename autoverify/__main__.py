import sys

from autoverify.cli.main import main

sys.exit(main())
