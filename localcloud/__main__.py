"""`python -m localcloud rehearse ...` (see localcloud.rehearse)."""

import sys

from localcloud.rehearse import main

sys.exit(main())
