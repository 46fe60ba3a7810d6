import sys

from proofsmith.cli import main

sys.exit(main())
