from benchmarks.analytics.run import main

raise SystemExit(main())
