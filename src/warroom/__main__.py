"""`python -m warroom` runs the CLI."""

from warroom.cli import main

if __name__ == "__main__":
    main()
