from sopgen.cli import main

main()
