from benchmarks.checkout.run import main

raise SystemExit(main())
