enum LinuxTraceModule {}
