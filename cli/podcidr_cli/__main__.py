import sys

from podcidr_cli.main import main

sys.exit(main())
