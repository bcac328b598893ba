from swarmtui.launch import main

raise SystemExit(main())
