from benchmarks.search.run import main

raise SystemExit(main())
