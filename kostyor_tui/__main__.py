from kostyor_tui.cli import main

raise SystemExit(main())
