from stt_daemon.cli import main

main()
