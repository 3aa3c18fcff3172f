import sys

if sys.argv[1:2] == ["analytics"]:
    from benchmarks.analytics.run import main as analytics

    raise SystemExit(analytics(sys.argv[2:]))

if sys.argv[1:2] == ["search"]:
    from benchmarks.search.run import main as search

    raise SystemExit(search(sys.argv[2:]))

if sys.argv[1:2] == ["checkout"]:
    from benchmarks.checkout.run import main as checkout

    raise SystemExit(checkout(sys.argv[2:]))

from benchmarks.run import main

raise SystemExit(main())
