"""Write the inputs of a named config of this folder into a working directory (tests/helpers/named_configs.py).

.venv/bin/python tests/configs/make_fixtures.py WORKDIR {sam,map_only,lczc_ges2,so2sat} [--previous-run DIR]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the helpers package

from helpers.named_configs import main

if __name__ == "__main__":
    main()
