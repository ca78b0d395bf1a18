"""All benchmarks, as `make bench` runs them."""
from benchmarks import export_bench, import_bench, login_bench

if __name__ == "__main__":
    import_bench.main()
    print()
    export_bench.main()
    print()
    login_bench.main()
